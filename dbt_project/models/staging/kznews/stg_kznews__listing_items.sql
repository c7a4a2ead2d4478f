with

source as (

    select * from {{ source('kznews', 'listing_items') }}

),

final as (

    select
        page_url,
        position as listing_position,
        url as article_url,
        coalesce(cast(article_id as varchar), {{ article_id_from_url('url') }}, {{ url_key('url') }})
            as article_id,
        lower(section) as section,
        lower(rubric) as rubric,
        {{ collapse_ws('rubric_name') }} as rubric_name,
        {{ collapse_ws('title') }} as title,
        -- As shown; whitespace and letter case are normalised in int_authors_normalised.
        nullif(trim(author), '') as author_raw,
        cast(published_at as timestamptz) as published_at,
        cast(published_on as date) as published_on,
        cast(shown_on as date) as shown_on,
        cast(fetched_at as timestamptz) as fetched_at,
        extraction_method,
        cast(load_date as date) as load_date

    from source

)

select * from final
