{#- Text helpers shared by staging and intermediate models. Pure SQL expressions. -#}

{#- Runs of whitespace, including no-break and thin spaces, become one space; ends trimmed;
    an empty result becomes null. -#}
{% macro collapse_ws(expr) -%}
    nullif(trim(regexp_replace({{ expr }}, '[\s\p{Z}]+', ' ', 'g')), '')
{%- endmacro %}

{#- The author a listing's spelling names: md5 of the collapsed, lower-cased spelling (the
    key of dim_authors); null for a blank or missing spelling. int_authors_normalised keys
    the authors with it, and int_article_listings_aggregated computes it itself (once per
    distinct spelling) rather than joining that table, so the two models run side by
    side. -#}
{% macro author_id(expr) -%}
    md5(lower({{ collapse_ws(expr) }}))
{%- endmacro %}

{#- "kk" when a Kazakh-specific Cyrillic letter appears, else "ru" (same rule as
    kznews.extract.text.detect_language): for a headline or a title; articles use
    detect_article_language. Null text stays null. -#}
{% macro detect_language(expr) -%}
    case
        when {{ expr }} is null then null
        when regexp_matches({{ expr }}, '[әғқңөұүһіӘҒҚҢӨҰҮҺІ]') then 'kk'
        else 'ru'
    end
{%- endmacro %}

{#- An article's language from its text (same rule as
    kznews.extract.text.detect_article_language): "kk" when at least 20% of its Cyrillic
    words hold a Kazakh-specific letter, else "ru"; one quoted Kazakh name does not make a
    Russian article Kazakh. Null when title and body are both null. -#}
{% macro detect_article_language(title, body) -%}
    {%- set kk = "'[әғқңөұүһіӘҒҚҢӨҰҮҺІ]'" -%}
    {%- set words -%}
        list_filter(
            regexp_extract_all(concat_ws(chr(10), {{ title }}, {{ body }}),
                '[\p{L}\p{Nl}\p{No}]+(?:[-\x{2010}''\x{2019}][\p{L}\p{Nl}\p{No}]+)*'),
            w -> regexp_matches(w, '[\x{0400}-\x{04FF}]')
        )
    {%- endset -%}
    case
        when {{ title }} is null and {{ body }} is null then null
        when not regexp_matches(concat_ws(chr(10), {{ title }}, {{ body }}), {{ kk }}) then 'ru'
        when len(list_filter({{ words }}, w -> regexp_matches(w, {{ kk }})))
            >= 0.2 * len({{ words }}) then 'kk'
        else 'ru'
    end
{%- endmacro %}

{#- Every word (split on spaces and hyphens) with its first letter upper case and the rest
    lower case: "КАРЛЫГАШ ЕЖЕНОВА" -> "Карлыгаш Еженова". -#}
{% macro title_case(expr) -%}
    array_to_string(
        list_transform(
            regexp_split_to_array(lower({{ expr }}), ' '),
            w -> array_to_string(
                list_transform(
                    string_split(w, '-'),
                    p -> upper(left(p, 1)) || substr(p, 2)
                ),
                '-'
            )
        ),
        ' '
    )
{%- endmacro %}

{#- Word count of a text: runs of non-space characters. -#}
{% macro word_count(expr) -%}
    case
        when {{ expr }} is null then null
        else len(regexp_extract_all({{ expr }}, '[^\s\p{Z}]+'))
    end
{%- endmacro %}
