-- One row per article id named by any listing item on any page: what the listings say
-- about it (the article page itself shows no author and no date). When listings disagree,
-- the most recently fetched item wins (then page URL, then position) — deterministic.

with

listing_items as (

    select * from {{ ref('int_listing_items_localised') }}

),

authors as (

    select * from {{ ref('int_authors_normalised') }}

),

items_with_authors as (

    select
        listing_items.*,
        authors.author_id

    from listing_items
    left join authors using (author_raw)

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
        count(distinct page_url) as n_listing_pages

    from items_with_authors
    where article_id is not null
    group by article_id

)

select * from final
