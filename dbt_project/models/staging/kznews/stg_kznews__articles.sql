with

source as (

    select * from {{ source('kznews', 'articles') }}

),

final as (

    select
        -- partitions written before page_url existed held the fetched URL in url
        coalesce(page_url, url) as page_url,
        url as canonical_url,
        coalesce(cast(article_id as varchar), {{ article_id_from_url('url') }}, {{ url_key('url') }})
            as article_id,
        site,
        lower(section) as section,
        lower(rubric) as rubric,
        {{ collapse_ws('title') }} as title,
        body,
        -- partitions written before extraction set it: the same rule, in SQL
        coalesce(lower(language), {{ detect_article_language('title', 'body') }}) as language,
        cast(published_at as timestamptz) as published_at,
        cast(published_on as date) as published_on,
        cast(shown_on as date) as shown_on,
        cast(fetched_at as timestamptz) as fetched_at,
        extraction_method,
        cast(load_date as date) as load_date

    from source

)

select * from final
