with

source as (

    select * from {{ source('kznews', 'rates') }}

),

final as (

    select
        page_url,
        cast(shown_on as date) as shown_on,
        -- RUR is the old code of the Russian rouble; ISO 4217 says RUB.
        case upper(trim(base_currency)) when 'RUR' then 'RUB' else upper(trim(base_currency)) end
            as currency,
        case upper(trim(quote_currency)) when 'RUR' then 'RUB' else upper(trim(quote_currency)) end
            as quote_currency,
        cast(rate as decimal(18, 6)) as rate,
        cast(fetched_at as timestamptz) as fetched_at,
        extraction_method,
        cast(load_date as date) as load_date

    from source

)

select * from final
