{#-
    on-run-end hook (dbt_project.yml): every `dbt build` records its outcome in the
    warehouse, in <target schema>.dbt_build_log, whoever ran it (make build, a release, a
    person). `python -m loader publish` reads the latest row and refuses to publish after
    a failed build; other dbt commands (compile, docs, test) leave no row and change
    nothing about that, and nor do the review's builds into prefixed schemas (make review).
-#}
{% macro record_build(results) -%}
    {%- if execute and flags.WHICH == 'build' and not var('review_schema_prefix', '') -%}
        {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
        {%- set warned = results | selectattr('status', 'equalto', 'warn') | list -%}
        {%- do run_query('create schema if not exists ' ~ target.schema) -%}
        {%- do run_query(
            'create table if not exists ' ~ target.schema ~ '.dbt_build_log ('
            ~ ' invocation_id varchar not null, target_name varchar not null, finished_at timestamp not null,'
            ~ ' nodes integer not null, failed integer not null, warned integer not null)'
        ) -%}
        insert into {{ target.schema }}.dbt_build_log
        values (
            '{{ invocation_id }}', '{{ target.name }}', {{ dbt.current_timestamp() }},
            {{ results | length }}, {{ failed | length }}, {{ warned | length }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
