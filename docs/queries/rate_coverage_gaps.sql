-- Days without a USD rate between the first and last day the site showed one (the
-- warehouse never invents missing days; this lists them, with dim_date's weekday).
select
    d.date_day,
    d.iso_day_of_week,
    d.is_weekend
from dim_date as d
where d.date_day between (select min(rate_date) from fct_exchange_rates where currency = 'USD')
                     and (select max(rate_date) from fct_exchange_rates where currency = 'USD')
  and not exists (
      select 1 from fct_exchange_rates as r
      where r.rate_date = d.date_day and r.currency = 'USD'
  )
order by d.date_day;
