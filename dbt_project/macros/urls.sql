{#- URL helpers: the article id and a comparable form of a URL. -#}

{#- The article id named by an old-site article URL, whatever its form: with or without
    "www.", trailing slash or query ("...smart/13178?id=13258&post_action=like" -> 13178).
    Null for other URLs. -#}
{% macro article_id_from_url(expr) -%}
    nullif(regexp_extract({{ expr }}, '^https?://[^/]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/([0-9]+)/?(?:[?#].*)?$', 1), '')
{%- endmacro %}

{#- A URL without scheme, "www.", query, fragment and trailing slash, lower-case host:
    the key for URLs that have no article id (current-site articles). -#}
{% macro url_key(expr) -%}
    regexp_replace(
        regexp_replace(
            regexp_replace(lower({{ expr }}), '^https?://(www\.)?', ''),
            '[?#].*$', ''
        ),
        '/+$', ''
    )
{%- endmacro %}
