-- One row per (date, currency): the rate to KZT shown by the site's header that day.
-- Pages served on the same date may disagree; the rate is the value most pages showed,
-- then the value of the most recently fetched page, then the higher value (deterministic),
-- with the number of observations beside it. Days without observations stay absent.
-- An implausible value (macros/rates.sql: a misread page, 425.67 read as 42567) takes no part
-- in the vote, the counts or min/max; n_implausible_observations counts it (the observation
-- itself stays in int_rate_observations). A day whose every value is implausible is absent.
-- Incremental: only dates touched by new observations are recomputed (from all of theirs).
-- first_load_date (lineage) is the night the date's first plausible observation arrived (a
-- night that brought only misread values made no row): landing the same page fetches again
-- on a later night changes nothing here.

with

observations as (

    select * from {{ ref('int_rate_observations') }}
    where quote_currency = 'KZT'

),

{% if is_incremental() %}
touched as (

    select distinct rate_date, currency
    from observations
    where {{ load_date_filter('load_date', 'first_load_date') }}

),

observations_to_rank as (

    select observations.*
    from observations
    inner join touched using (rate_date, currency)

),
{% else %}
observations_to_rank as (

    select * from observations

),
{% endif %}

page_fetches as (

    -- one page fetch counts once even if it was landed on two nights
    select distinct rate_date, currency, rate, page_url, fetched_at
    from observations_to_rank

),

checked as (

    select
        *,
        {{ plausible_rate('currency', 'rate') }} as is_plausible

    from page_fetches

),

implausible as (

    select rate_date, currency, count(*) as n_implausible_observations
    from checked
    where not is_plausible
    group by all

),

values_seen as (

    select
        rate_date,
        currency,
        rate,
        count(*) as n_pages,
        max(fetched_at) as last_fetched_at

    from checked
    where is_plausible
    group by all

),

per_day as (

    select
        rate_date,
        currency,
        first(rate order by n_pages desc, last_fetched_at desc, rate desc) as rate,
        cast(sum(n_pages) as bigint) as n_observations,
        count(*) as n_distinct_rates,
        min(rate) as min_rate,
        max(rate) as max_rate

    from values_seen
    group by all

),

load_dates as (

    -- the night the row could first appear: implausible values never made one
    select rate_date, currency, min(load_date) as first_load_date
    from observations_to_rank
    where {{ plausible_rate('currency', 'rate') }}
    group by all

),

final as (

    select
        per_day.rate_date || '/' || per_day.currency as exchange_rate_id,
        per_day.rate_date,
        per_day.currency,
        'KZT' as quote_currency,
        per_day.rate,
        per_day.n_observations,
        per_day.n_distinct_rates,
        per_day.n_distinct_rates > 1 as is_disputed,
        per_day.min_rate,
        per_day.max_rate,
        coalesce(implausible.n_implausible_observations, 0) as n_implausible_observations,
        load_dates.first_load_date

    from per_day
    inner join load_dates using (rate_date, currency)
    left join implausible using (rate_date, currency)

)

select * from final
