-- One row per article id named by any listing item on any page: what the listings say
-- about it (the article page itself shows no author and no date). When listings disagree,
-- the most recently fetched item wins (then page URL, then position) — deterministic.
-- Incremental (delete+insert by article_id): a run recomputes only the articles its
-- load_date partition(s) list, each from all of its items, so the result equals a full
-- refresh; last_load_date (lineage) is the newest partition listing the article.

with

-- "not materialized": never a temporary copy of all of its upstream (a view over Parquet),
-- should a later change read this CTE twice.
all_listing_items as not materialized (

    select * from {{ ref('int_listing_items_localised') }}

),

{% if is_incremental() %}
{%- set touched_sql -%}
    select article_id from {{ ref('int_listing_items_localised') }}
    where {{ load_date_filter('load_date', 'last_load_date') }} and article_id is not null
{%- endset %}
-- the touched ids as a constant list (macros/incremental.sql: in_keys), so that the view's
-- expressions run only for their items, not for every item of the archive
listing_items as (

    select * from all_listing_items
    where {{ in_keys('article_id', touched_sql) }}

),
{% else %}
listing_items as (

    select * from all_listing_items

),
{% endif %}

-- The author id int_authors_normalised gives each spelling, computed here with the same
-- macro instead of joined from that table, so this model need not wait for it; once per
-- distinct spelling (a few hundred), not once per item (the macro runs a regex).
author_ids as (

    select author_raw, {{ author_id('author_raw') }} as author_id
    from (select distinct author_raw from listing_items where author_raw is not null)

),

items_with_authors as (

    select
        listing_items.*,
        author_ids.author_id

    from listing_items
    left join author_ids using (author_raw)

),

final as (

    select
        article_id,
        first(article_url order by fetched_at desc, page_url, listing_position) as article_url,
        first(section order by fetched_at desc, page_url, listing_position)
            filter (where section is not null) as section,
        first(rubric order by fetched_at desc, page_url, listing_position)
            filter (where rubric is not null) as rubric,
        first(title order by fetched_at desc, page_url, listing_position)
            filter (where title is not null) as title,
        first(author_id order by fetched_at desc, page_url, listing_position)
            filter (where author_id is not null) as author_id,
        first(published_at order by fetched_at desc, page_url, listing_position)
            filter (where published_at is not null) as published_at,
        first(published_on order by fetched_at desc, page_url, listing_position)
            filter (where published_on is not null) as published_on,
        min(seen_on) as first_seen_on,
        max(seen_on) as last_seen_on,
        -- page x date, so the same fetch landed twice or listed twice counts once
        count(distinct (page_url, seen_on)) as n_listing_sightings,
        count(distinct page_url) as n_listing_pages,
        max(load_date) as last_load_date

    from items_with_authors
    where article_id is not null
    group by article_id

)

select * from final
