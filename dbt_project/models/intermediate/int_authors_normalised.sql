-- One row per author spelling seen in listings, with the author it names.
-- Spellings differ in whitespace (double, no-break spaces) and letter case ("КАРЛЫГАШ
-- ЕЖЕНОВА"); the key is the collapsed, lower-cased name. The display name is the most
-- frequent collapsed spelling that is neither all upper nor all lower case, else a
-- title-cased form.

with

listing_items as (

    select * from {{ ref('stg_kznews__listing_items') }}

),

raw_spellings as (

    select
        author_raw,
        count(*) as n_items

    from listing_items
    where author_raw is not null
    group by 1

),

-- collapsed once per distinct spelling (a few hundred), not once per listing item (1.4M at
-- 100,000 pages): the regular expression was most of this model's time
spellings as (

    select
        author_raw,
        {{ collapse_ws('author_raw') }} as author_collapsed,
        n_items

    from raw_spellings

),

keyed as (

    select
        *,
        lower(author_collapsed) as author_key,
        author_collapsed <> upper(author_collapsed)
            and author_collapsed <> lower(author_collapsed) as is_well_cased

    from spellings
    where author_collapsed is not null

),

-- a shown spelling counts every listing item of every raw spelling it collapses from
-- ("Иван Петров" with a single, a double or a no-break space is one spelling)
shown_spellings as (

    select
        author_key,
        author_collapsed,
        is_well_cased,
        sum(n_items) as n_items

    from keyed
    group by all

),

display_names as (

    select
        author_key,
        coalesce(
            first(author_collapsed order by n_items desc, author_collapsed)
                filter (where is_well_cased),
            {{ title_case('min(author_collapsed)') }}
        ) as author_name

    from shown_spellings
    group by 1

),

final as (

    select
        keyed.author_raw,
        {{ author_id('keyed.author_raw') }} as author_id,  -- md5(author_key)
        keyed.author_key,
        display_names.author_name,
        regexp_matches(keyed.author_key, '^редакция\s*[«"]?exclusive[»"]?$') as is_editorial

    from keyed
    inner join display_names using (author_key)

)

select * from final
