-- The 20 most-seen ticker headlines: how many page-days showed them, over which days.
select
    headline_title,
    headline_url,
    language,
    times_seen,
    n_pages,
    n_days,
    first_seen_on,
    last_seen_on
from fct_headlines
order by times_seen desc, last_seen_on desc, headline_title
limit 20;
