{#-
    Which releases the staging tests check. stg_chs__waiting_list_values is append-only by
    release and a release is immutable, so its tests need to see only the releases that
    int_community_waits_pivoted has not consumed yet: dbt build runs them before the pivot,
    and a failing test stops the pivot, so a release stays in scope until it passes. This
    keeps a monthly build from re-reading every earlier month (950k rows at 12 months).
    Everything is checked on a first build, with --full-refresh, or with
    --vars '{validate_all_releases: true}'.

    Tests opt in with `config: where: "__new_releases__"` (generic tests) or by calling
    new_releases_condition() (singular tests).
-#}
{% macro new_releases_condition(column='file_sha256') -%}
    {%- set pivoted = none -%}
    {%- if execute and not flags.FULL_REFRESH and not var('validate_all_releases') -%}
        {%- set node = graph.nodes['model.chs_waiting_lists.int_community_waits_pivoted'] -%}
        {%- set pivoted = adapter.get_relation(node.database, node.schema, node.alias) -%}
    {%- endif -%}
    {%- if pivoted is none -%}
        1 = 1
    {%- else -%}
        {{ column }} not in (select distinct consumed.file_sha256 from {{ pivoted }} as consumed)
    {%- endif -%}
{%- endmacro %}

{#- dbt's own get_where_subquery, with the __new_releases__ placeholder filled in. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__new_releases__', new_releases_condition()) -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
