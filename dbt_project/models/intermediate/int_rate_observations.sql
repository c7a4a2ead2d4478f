-- One row per rate shown on one fetched page: the raw observations behind
-- fct_exchange_rates. Incremental (delete+insert keyed by load_date): a run reads only its
-- load_date partition(s), so the nightly cost follows the new pages.

with

rates as (

    select * from {{ ref('stg_kznews__rates') }}
    where {{ load_date_filter('load_date') }}

),

observations as (

    select
        md5(concat_ws(
            '|', page_url, cast(fetched_at as varchar), currency, quote_currency,
            cast(load_date as varchar)
        )) as rate_observation_id,
        -- Rates are "as of" the page's date line; pages without one count on the local
        -- date they were fetched.
        coalesce(shown_on, {{ almaty_date('fetched_at') }}) as rate_date,
        currency,
        quote_currency,
        rate,
        page_url,
        fetched_at,
        load_date

    from rates

),

final as (

    select * from observations
    -- the same page fetch listing one currency twice counts once (per load date; the same
    -- fetch landed on two nights is counted once in fct_exchange_rates)
    qualify row_number() over (
        partition by rate_observation_id order by rate desc, load_date
    ) = 1

)

select * from final
