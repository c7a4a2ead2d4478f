-- One row per listing item, with its publication time in Asia/Almaty local time.
-- The old site shows local times ("19.06.2016 - 00:38"); extraction stores them in UTC.
-- Almaty was UTC+6 until 1 March 2024 and UTC+5 since: the conversion uses the time-zone
-- database (ICU), never a fixed offset.

with

listing_items as (

    select * from {{ ref('stg_kznews__listing_items') }}

),

final as (

    select
        page_url,
        listing_position,
        article_url,
        article_id,
        section,
        rubric,
        rubric_name,
        title,
        author_raw,
        published_at,
        {{ to_almaty('published_at') }} as published_at_local,
        coalesce(published_on, {{ almaty_date('published_at') }}) as published_on,
        coalesce(shown_on, {{ almaty_date('fetched_at') }}) as seen_on,
        fetched_at,
        load_date

    from listing_items

)

select * from final
