-- Rate trend per currency: monthly average, low, high and last rate to KZT, with how many
-- days of the month had a rate (missing days are not filled in) and how many were disputed.
-- The change is against the calendar month before; empty when that month had no rate.
with monthly as (
    select
        currency,
        date_trunc('month', rate_date) as month,
        avg(rate) as avg_rate,
        min(rate) as low_rate,
        max(rate) as high_rate,
        arg_max(rate, rate_date) as last_rate,
        count(*) as days_with_rate,
        count(*) filter (where is_disputed) as disputed_days
    from fct_exchange_rates
    group by currency, date_trunc('month', rate_date)
)
select
    currency,
    cast(month as date) as month,
    round(avg_rate, 2) as avg_rate,
    low_rate,
    high_rate,
    last_rate,
    case when lag(month) over w = month - interval 1 month
        then round(100 * (last_rate / lag(last_rate) over w - 1), 2)
    end as change_vs_prev_month_pct,
    days_with_rate,
    disputed_days
from monthly
window w as (partition by currency order by month)
order by currency, month;
