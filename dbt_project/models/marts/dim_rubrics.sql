-- One row per rubric (section + rubric slug) seen on pages, listings or articles, with its
-- shown name (the most frequent spelling) and article activity.

with

pages as (

    select * from {{ ref('stg_kznews__pages') }}

),

listing_items as (

    select * from {{ ref('stg_kznews__listing_items') }}

),

articles as (

    select * from {{ ref('fct_articles') }}

),

mentions as (

    select section, rubric, rubric_name from pages where rubric is not null
    union all
    select section, rubric, rubric_name from listing_items where rubric is not null
    union all
    select section, rubric, null as rubric_name from articles where rubric is not null

),

names as (

    select
        coalesce(section, 'category') || '/' || rubric as rubric_id,
        min(section) as section,
        min(rubric) as rubric,
        first(rubric_name order by n desc, rubric_name) filter (where rubric_name is not null)
            as rubric_name

    from (
        select section, rubric, rubric_name, count(*) as n
        from mentions
        group by all
    )
    group by 1

),

article_stats as (

    select
        rubric_id,
        count(*) as article_count,
        count(*) filter (where has_full_text) as full_text_count,
        min(published_on) as first_article_on,
        max(published_on) as last_article_on

    from articles
    where rubric_id is not null
    group by 1

),

final as (

    select
        names.rubric_id,
        names.section,
        names.rubric,
        coalesce(names.rubric_name, names.rubric) as rubric_name,
        coalesce(article_stats.article_count, 0) as article_count,
        coalesce(article_stats.full_text_count, 0) as full_text_count,
        article_stats.first_article_on,
        article_stats.last_article_on

    from names
    left join article_stats using (rubric_id)

)

select * from final
