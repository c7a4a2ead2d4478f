-- One row per calendar day from the earliest to the latest date any mart refers to
-- (publication, rate and sighting dates). Derived from the data, never from today's date,
-- so rebuilding gives the same table.

with

articles as (

    select * from {{ ref('fct_articles') }}

),

rates as (

    select * from {{ ref('fct_exchange_rates') }}

),

sightings as (

    select * from {{ ref('fct_headline_sightings') }}

),

dates_used as (

    select published_on as d from articles
    union all select first_seen_on from articles
    union all select last_seen_on from articles
    union all select rate_date from rates
    union all select seen_on from sightings

),

bounds as (

    select min(d) as first_day, max(d) as last_day
    from dates_used

),

spine as (

    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as date_day
    from bounds
    where first_day is not null

),

final as (

    select
        date_day,
        year(date_day) as year,
        quarter(date_day) as quarter,
        month(date_day) as month,
        [
            'январь', 'февраль', 'март', 'апрель', 'май', 'июнь',
            'июль', 'август', 'сентябрь', 'октябрь', 'ноябрь', 'декабрь'
        ][month(date_day)] as month_name_ru,
        strftime(date_day, '%Y-%m') as year_month,
        isoyear(date_day) as iso_year,
        week(date_day) as iso_week,
        isodow(date_day) as iso_day_of_week,
        isodow(date_day) in (6, 7) as is_weekend,
        -- Asia/Almaty's offset from UTC at local noon: 6 until 1 March 2024 (7 in summers
        -- until 2004: Almaty kept daylight saving time until March 2005), 5 since
        cast(
            date_diff(
                'minute',
                cast(date_day + interval 12 hour as timestamp),
                {{ to_almaty("cast(strftime(date_day, '%Y-%m-%d') || ' 12:00:00+00' as timestamptz)") }}
            ) / 60 as integer
        ) as almaty_utc_offset_hours

    from spine

)

select * from final
