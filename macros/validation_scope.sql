{#-
    Which releases a test checks. The models it tests are append-only by release and a
    release is immutable, so a test needs to see only the releases that the next
    incremental model downstream (its "consumer") has not taken in yet: dbt build runs the
    test before the consumer, and a failing test stops the consumer, so a release stays
    in scope until it passes. This keeps a monthly build from re-reading every earlier
    month: the new releases are listed from the load log (macros/incremental_by_release.sql)
    and the tests read only their rows. A consumer that reads seeds counts a release as
    taken in only with the seeds as they are now, so a seed edit re-checks every release.

    Everything is checked on a first build, with --full-refresh, or with
    --vars '{validate_all_releases: true}'. A warning (severity warn) does not stop the
    consumer, so it is reported by the build that brings the release in, not by later ones.

    Tests opt in with `config: where:` holding a placeholder, `__releases_not_yet_pivoted__`
    (consumer int_community_waits_pivoted), `__releases_without_community_health_data__`
    (consumer int_community_health_data_built) or `__releases_without_capacity_estimates__`
    (consumer fct_waiting_list_capacity), or by calling new_releases_condition(consumer)
    (singular tests).

    Models that rewrite whole months and stamp each row with the dbt invocation that wrote
    it are checked on the rows this build wrote: `__rows_built_by_this_run__` (the tests of
    fct_waiting_list_capacity, the last model) and `__rows_flagged_by_this_build__` (the
    anomaly tests of int_organisation_months_flagged, which only warn; that model flags the
    new months itself and the month after each, whose comparison changed).
-#}
{#- The consumer's table when tests are scoped by it; none when everything is checked
    (the consumer is not built yet, --full-refresh, or the var). -#}
{% macro scope_consumer(consumer) -%}
    {%- if not execute or flags.FULL_REFRESH or var('validate_all_releases') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ consumer] -%}
    {{ return(adapter.get_relation(node.database, node.schema, node.alias)) }}
{%- endmacro %}

{% macro new_releases_condition(consumer='int_community_waits_pivoted', column='file_sha256') -%}
    {%- set consumer_relation = scope_consumer(consumer) -%}
    {%- if consumer_relation is none -%}
        1 = 1
    {%- else -%}
        {%- set taken_in = processed_with_current_seeds('model.' ~ project_name ~ '.' ~ consumer) -%}
        {{ file_sha256_in(releases_missing_from(consumer_relation, taken_in), column) }}
    {%- endif -%}
{%- endmacro %}

{#- For tests of int_community_health_data_built, the last incremental model: the objects
    trust_metrics does not show yet (new, or changed since), in the months its source
    covers (int_trust_metrics_deduplicated; the test declares that dependency). Objects of
    months the source lacks are never shown there: they are checked by a full build, and
    are not re-read by every build after. `alias` is the test's alias for the model.
    trust_metrics is built after these tests and not when they fail. -#}
{% macro community_health_data_not_yet_published(alias) -%}
    {%- set published = scope_consumer('trust_metrics') -%}
    {%- if published is none -%}
        1 = 1
    {%- else -%}
        {{ alias }}.period in (select trust_months.period from {{ ref('int_trust_metrics_deduplicated') }} as trust_months)
        and not exists (
            select 1 from {{ published }} as published
            where
                published.trust_code = {{ alias }}.trust_code
                and published.period = {{ alias }}.period
                and published.community_health_data = {{ alias }}.community_health_data
        )
    {%- endif -%}
{%- endmacro %}

{#- The rows a model stamped with this dbt invocation (`column`) wrote: with nothing
    downstream to hold back, a failure is reported by the build that writes the rows; a
    full build after a project change, --full-refresh or validate_all_releases checks
    every row. -#}
{% macro rows_built_by_this_run(column='dbt_invocation_id') -%}
    {%- if not execute or flags.FULL_REFRESH or var('validate_all_releases') -%}
        1 = 1
    {%- else -%}
        {{ column }} = '{{ invocation_id }}'
    {%- endif -%}
{%- endmacro %}

{#- dbt's own get_where_subquery, with the scope placeholders filled in. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if '__releases_not_yet_pivoted__' in where -%}
        {%- set scope = new_releases_condition('int_community_waits_pivoted') -%}
        {%- set where = where | replace('__releases_not_yet_pivoted__', scope) -%}
    {%- endif -%}
    {%- if '__releases_without_community_health_data__' in where -%}
        {%- set scope = new_releases_condition('int_community_health_data_built') -%}
        {%- set where = where | replace('__releases_without_community_health_data__', scope) -%}
    {%- endif -%}
    {%- if '__releases_without_capacity_estimates__' in where -%}
        {%- set scope = new_releases_condition('fct_waiting_list_capacity') -%}
        {%- set where = where | replace('__releases_without_capacity_estimates__', scope) -%}
    {%- endif -%}
    {%- if '__rows_built_by_this_run__' in where -%}
        {%- set where = where | replace('__rows_built_by_this_run__', rows_built_by_this_run()) -%}
    {%- endif -%}
    {%- if '__rows_flagged_by_this_build__' in where -%}
        {%- set scope = rows_built_by_this_run('flagged_by_invocation') -%}
        {%- set where = where | replace('__rows_flagged_by_this_build__', scope) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The releases of the months trust_metrics holds, as a filter on `column`: the tests on
    trust_metrics judge trust coverage in the months its source (the extract or the live
    table) covers. Older workbooks landed for longer trends reach the community marts but
    not trust_metrics, which holds its source's months only. The releases are looked up
    first and inlined, so a test reads their rows only (an index probe on PostgreSQL),
    whatever the number of months landed. -#}
{% macro in_trust_metrics_months(column='file_sha256') -%}
    {%- if not execute -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.trust_metrics'] -%}
    {%- set in_trust_metrics -%}
        releases.reporting_period in (
            select trust_metrics.period
            from {{ api.Relation.create(node.database, node.schema, node.alias) }} as trust_metrics
        )
    {%- endset -%}
    {{ return(file_sha256_in(current_releases(in_trust_metrics), column)) }}
{%- endmacro %}
