-- One row per author (normalised name), with the editorial byline flagged.

with

authors as (

    select * from {{ ref('int_authors_normalised') }}

),

articles as (

    select * from {{ ref('fct_articles') }}

),

author_names as (

    select distinct
        author_id,
        author_key,
        author_name,
        is_editorial

    from authors

),

spellings as (

    select
        author_id,
        count(distinct author_raw) as n_spellings

    from authors
    group by 1

),

article_stats as (

    select
        author_id,
        count(*) as article_count,
        min(published_on) as first_article_on,
        max(published_on) as last_article_on

    from articles
    where author_id is not null
    group by 1

),

final as (

    select
        author_names.author_id,
        author_names.author_name,
        author_names.author_key,
        author_names.is_editorial,
        spellings.n_spellings,
        coalesce(article_stats.article_count, 0) as article_count,
        article_stats.first_article_on,
        article_stats.last_article_on

    from author_names
    inner join spellings using (author_id)
    left join article_stats using (author_id)

)

select * from final
