with

source as (

    select * from {{ source('kznews', 'quarantine') }}

),

final as (

    select
        source as quarantined_source,
        stage,
        reason,
        detail,
        content_sha256,
        size_bytes,
        status as http_status,
        cast(fetched_at as timestamptz) as fetched_at,
        cast(load_date as date) as load_date

    from source

)

select * from final
