-- Language share of the news ticker: distinct headlines and sightings (page-days) per
-- language, per month of the page's date line.
with by_month as (
    select
        cast(date_trunc('month', seen_on) as date) as month,
        language,
        count(distinct headline_id) as distinct_headlines,
        count(*) as sightings
    from fct_headline_sightings
    group by 1, 2
)
select
    month,
    language,
    distinct_headlines,
    sightings,
    round(100.0 * sightings / sum(sightings) over (partition by month), 1) as sightings_share_pct
from by_month
order by month, language;
