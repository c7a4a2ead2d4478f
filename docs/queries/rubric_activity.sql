-- Rubric activity: articles per rubric per publication year, with authors involved and the
-- share the warehouse holds in full text.
select
    r.rubric_name,
    r.rubric_id,
    year(f.published_on) as year,
    count(*) as articles,
    count(distinct f.author_id) as authors,
    round(100.0 * count(*) filter (where f.has_full_text) / count(*), 1) as full_text_pct,
    min(f.published_on) as first_article_on,
    max(f.published_on) as last_article_on
from fct_articles as f
inner join dim_rubrics as r on r.rubric_id = f.rubric_id
where f.published_on is not null
group by r.rubric_name, r.rubric_id, year(f.published_on)
order by year desc, articles desc, r.rubric_name;
