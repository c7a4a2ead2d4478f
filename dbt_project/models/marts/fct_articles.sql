-- One row per article id: the article page (any URL form) joined with what listings on any
-- page say about it. Articles known only from listings are rows too (has_full_text false).
-- Incremental (delete+insert by article_id): a run rebuilds only the articles its upstream
-- models recomputed (their last_load_date in the run's load date or later), so a night
-- costs its new pages, not the archive. Without a load date (dbt run by hand, no --vars)
-- it rebuilds every article: it keeps no lineage column of its own.
-- row_hash fingerprints every other column: the publish step copies only changed rows.

with

-- "not materialized": the incremental branch reads each all_* CTE twice (touched ids, then
-- their rows), and DuckDB would otherwise first copy all of its upstream (a table, or a view over
-- Parquet) into a temporary result.
all_article_pages as not materialized (

    select * from {{ ref('int_articles_merged_across_urls') }}

),

all_listings as not materialized (

    select * from {{ ref('int_article_listings_aggregated') }}

),

{% if is_incremental() %}
touched as (

    select article_id from all_article_pages
    where {{ load_date_filter('last_load_date', held_column=none) }}
    union
    select article_id from all_listings
    where {{ load_date_filter('last_load_date', held_column=none) }}

),

article_pages as (

    select * from all_article_pages
    where article_id in (select article_id from touched)

),

listings as (

    select * from all_listings
    where article_id in (select article_id from touched)

),
{% else %}
article_pages as (

    select * from all_article_pages

),

listings as (

    select * from all_listings

),
{% endif %}

joined as (

    select
        article_id,
        article_pages.article_id is not null as has_full_text,
        coalesce(article_pages.canonical_url, listings.article_url) as article_url,
        coalesce(article_pages.site, case
            when listings.article_url like '%old.exclusive.kz/%' then 'old'
            else 'current'
        end) as site,
        coalesce(article_pages.section, listings.section) as section,
        coalesce(article_pages.rubric, listings.rubric) as rubric,
        coalesce(article_pages.title, listings.title) as title,
        article_pages.body,
        article_pages.word_count,
        listings.author_id,
        coalesce(listings.published_at, article_pages.published_at) as published_at,
        coalesce(
            listings.published_on,
            article_pages.published_on,
            {{ almaty_date('article_pages.published_at') }}
        ) as published_on,
        least(article_pages.first_seen_on, listings.first_seen_on) as first_seen_on,
        greatest(article_pages.last_seen_on, listings.last_seen_on) as last_seen_on,
        coalesce(article_pages.n_url_forms, 0) as n_url_forms,
        coalesce(listings.n_listing_sightings, 0) as n_listing_sightings,
        article_pages.language as page_language

    from article_pages
    full outer join listings using (article_id)

),

final as (

    select
        article_id,
        article_url,
        site,
        section,
        rubric,
        case when rubric is not null then coalesce(section, 'category') || '/' || rubric end
            as rubric_id,
        title,
        body,
        author_id,
        published_at,
        {{ to_almaty('published_at') }} as published_at_local,
        published_on,
        first_seen_on,
        last_seen_on,
        word_count,
        coalesce(page_language, {{ detect_language('title') }}) as language,
        has_full_text,
        n_url_forms,
        n_listing_sightings

    from joined

)

select
    *,
    md5(to_json(final)) as row_hash

from final
