-- One row per article id from article pages: the URL forms of one article merged.
-- "http://www.old.exclusive.kz/expertiza/smart/13178/", ".../13178" without "www." and the
-- comment-vote form "https://exclusive.kz/expertiza/smart/13178?id=13258&post_action=like"
-- are one article. Text comes from the most recently fetched page; the canonical URL is
-- the one extraction found on the article pages (the plainest form, no query, trailing
-- slash, "www.", should they differ); n_url_forms counts only URLs actually fetched.
-- Incremental (delete+insert keyed by article_id): a run recomputes only the articles that
-- appear in its load_date partition(s), each from all of its rows in every partition, so
-- the result equals a full refresh; it reads only the partitions that hold those articles'
-- rows (macros/incremental.sql: partitions_holding). last_load_date (lineage) is the
-- newest partition an article row came from; word_count is computed here, once per changed
-- article.

{%- if is_incremental() -%}
{%- set touched_sql -%}
    select article_id from {{ ref('stg_kznews__articles') }}
    where {{ load_date_filter('load_date', 'last_load_date') }} and article_id is not null
    union
    select article_id from {{ ref('stg_kznews__pages') }}
    where {{ load_date_filter('load_date', 'last_load_date') }} and article_id is not null
{%- endset -%}
{#- an incremental run reads only the partitions holding a row of a touched article -#}
{%- set holding = partitions_holding(
    touched_sql, [ref('stg_kznews__articles'), ref('stg_kznews__pages')]) -%}
{%- else -%}
{%- set holding = 'true' -%}
{%- endif %}

with

-- "not materialized": the incremental branch reads each all_* CTE twice (touched ids, then
-- their rows), and DuckDB would otherwise first copy all of its upstream (a table, or a view over
-- Parquet) into a temporary result.
all_articles as not materialized (

    select * from {{ ref('stg_kznews__articles') }}
    where {{ holding }}

),

all_pages as not materialized (

    select * from {{ ref('stg_kznews__pages') }}
    where {{ holding }}

),

{% if is_incremental() %}
touched as (

    {{ touched_sql }}

),

articles as (

    select * from all_articles
    where article_id in (select article_id from touched)

),

pages as (

    select * from all_pages
    where article_id in (select article_id from touched)

),
{% else %}
articles as (

    select * from all_articles

),

pages as (

    select * from all_pages

),
{% endif %}

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
        first(canonical_url order by
            canonical_url like '%?%',
            canonical_url not like '%/',
            canonical_url not like '%://www.%',
            canonical_url
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
        max(fetched_at) as last_fetched_at,
        max(load_date) as last_load_date

    from articles
    where article_id is not null
    group by article_id

),

final as (

    select
        merged.*,
        {{ word_count('merged.body') }} as word_count,
        url_form_counts.n_url_forms

    from merged
    left join url_form_counts using (article_id)

)

select * from final
