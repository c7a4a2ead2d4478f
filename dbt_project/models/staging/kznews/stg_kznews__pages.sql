with

source as (

    select * from {{ source('kznews', 'pages') }}

),

final as (

    select
        url as page_url,
        page_type,
        layout,
        cast(shown_on as date) as shown_on,
        cast(fetched_at as timestamptz) as fetched_at,
        content_sha256,
        lower(encoding) as encoding,
        status as http_status,
        cast(article_id as varchar) as article_id,
        lower(section) as section,
        lower(rubric) as rubric,
        {{ collapse_ws('rubric_name') }} as rubric_name,
        pager_pages,
        n_rates,
        n_headlines,
        n_listing_items,
        coalesce(has_article, false) as has_article,
        extraction_method,
        cast(load_date as date) as load_date

    from source

)

select * from final
