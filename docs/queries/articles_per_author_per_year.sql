-- Articles per author per year (local publication year), editorial byline marked.
select
    a.author_name,
    a.is_editorial,
    year(f.published_on) as year,
    count(*) as articles,
    count(*) filter (where f.has_full_text) as with_full_text,
    round(avg(f.word_count)) as avg_words
from fct_articles as f
inner join dim_authors as a on a.author_id = f.author_id
where f.published_on is not null
group by a.author_name, a.is_editorial, year(f.published_on)
order by year desc, articles desc, a.author_name;
