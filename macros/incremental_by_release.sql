{#-
    Incremental by release, for models whose rows each come from one release and are
    derived with some seeds: a run processes only the releases not yet processed with
    the seeds as they are now (rows carry the seeds' fingerprint in `seeds_checksum`),
    and the post-hook drops rows of superseded releases and rows made with older seeds.
    A release is immutable (keyed by its SHA-256), so this is exact; after changing such
    a model's SQL run `dbt build --full-refresh`.

    In the model: config(materialized='incremental', incremental_strategy='append',
    post_hook=[release_rows_outdated_deleted(seed_names), refresh_statistics(this)], each
    as a '{{ }}' string so it renders at run time); in its input CTE:
    {% if is_incremental() %} where {{ release_not_yet_processed(seed_names) }} {% endif %};
    and select '{{ seeds_checksum(seed_names) }}' as seeds_checksum.

    release_not_yet_processed selects the distinct releases: a dozen, which PostgreSQL
    hashes; over the table's 100k rows `not in` falls back to a scan of them per row.
-#}
{% macro release_not_yet_processed(seed_names) -%}
    file_sha256 not in (
        select distinct done.file_sha256 from {{ this }} as done
        where done.seeds_checksum = '{{ seeds_checksum(seed_names) }}'
    )
{%- endmacro %}

{% macro release_rows_outdated_deleted(seed_names) -%}
    delete from {{ this }}
    where
        seeds_checksum != '{{ seeds_checksum(seed_names) }}'
        or file_sha256 not in (
            select releases.file_sha256 from {{ ref('stg_chs__load_log') }} as releases
            where releases.is_current_release
        )
{%- endmacro %}
