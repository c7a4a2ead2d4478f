-- One row per distinct headline (collapsed text + link): language, first/last seen and how
-- many page-days showed it. Aggregated from the (incremental) sightings fact.

with

sightings as (

    select * from {{ ref('fct_headline_sightings') }}

),

final as (

    select
        headline_id,
        min(headline_title) as headline_title,
        min(headline_url) as headline_url,
        first(language order by last_fetched_at desc, language) as language,
        min(seen_on) as first_seen_on,
        max(seen_on) as last_seen_on,
        count(*) as times_seen,
        count(distinct page_url) as n_pages,
        count(distinct seen_on) as n_days

    from sightings
    group by headline_id

)

select * from final
