with

source as (

    select * from {{ source('kznews', 'headlines') }}

),

final as (

    select
        page_url,
        cast(shown_on as date) as shown_on,
        position as headline_position,
        {{ collapse_ws('title') }} as headline_title,
        nullif(trim(url), '') as headline_url,
        coalesce(lower(language), {{ detect_language('title') }}) as language,
        cast(fetched_at as timestamptz) as fetched_at,
        extraction_method,
        cast(load_date as date) as load_date

    from source

)

select * from final
