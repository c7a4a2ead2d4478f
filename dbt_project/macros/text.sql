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
    kznews.extract.text.detect_language); null text stays null. -#}
{% macro detect_language(expr) -%}
    case
        when {{ expr }} is null then null
        when regexp_matches({{ expr }}, '[әғқңөұүһіӘҒҚҢӨҰҮҺІ]') then 'kk'
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
