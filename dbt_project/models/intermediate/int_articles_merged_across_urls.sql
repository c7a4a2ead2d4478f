-- One row per article id from article pages: the URL forms of one article merged.
-- "http://www.old.exclusive.kz/expertiza/smart/13178/", ".../13178" without "www." and the
-- comment-vote form "https://exclusive.kz/expertiza/smart/13178?id=13258&post_action=like"
-- are one article. Text comes from the most recently fetched page; the canonical URL is
-- the plainest form (no query, trailing slash, "www."). Extraction may already store the
-- canonical URL on the article row; the URLs actually fetched are on the page rows.

with

articles as (

    select * from {{ ref('stg_kznews__articles') }}

),

pages as (

    select * from {{ ref('stg_kznews__pages') }}

),

url_forms as (

    select article_id, page_url from articles
    union
    select article_id, page_url from pages
    where article_id is not null and has_article

),

url_form_counts as (

    select article_id, count(distinct page_url) as n_url_forms
    from url_forms
    group by article_id

),

merged as (

    select
        article_id,
        first(page_url order by
            page_url like '%?%',
            page_url not like '%/',
            page_url not like '%://www.%',
            page_url
        ) as canonical_url,
        count(*) as n_fetches,
        first(site order by fetched_at desc, page_url) as site,
        first(section order by fetched_at desc, page_url)
            filter (where section is not null) as section,
        first(rubric order by fetched_at desc, page_url)
            filter (where rubric is not null) as rubric,
        first(title order by fetched_at desc, page_url) as title,
        first(body order by fetched_at desc, page_url) as body,
        first(language order by fetched_at desc, page_url) as language,
        first(published_at order by fetched_at desc, page_url)
            filter (where published_at is not null) as published_at,
        first(published_on order by fetched_at desc, page_url)
            filter (where published_on is not null) as published_on,
        min(coalesce(shown_on, {{ almaty_date('fetched_at') }})) as first_seen_on,
        max(coalesce(shown_on, {{ almaty_date('fetched_at') }})) as last_seen_on,
        min(fetched_at) as first_fetched_at,
        max(fetched_at) as last_fetched_at

    from articles
    where article_id is not null
    group by article_id

),

final as (

    select
        merged.*,
        url_form_counts.n_url_forms

    from merged
    left join url_form_counts using (article_id)

)

select * from final
