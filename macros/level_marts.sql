{#-
    Which months the tests of the level views and the trust mart read
    (tests/marts/): the months int_organisation_months_flagged flagged in this build (a
    new release's month and the month after it), so a monthly build checks one or two
    months whatever the number held, and every month on a first build, with
    --full-refresh or with --vars '{validate_all_releases: true}'. The views are read
    through, so they must be scoped by period rather than by a table of their own.
-#}
{% macro months_flagged_by_this_build(column='period') -%}
    {%- set scope = rows_built_by_this_run('flagged_by_invocation') -%}
    {%- if scope == '1 = 1' -%}
        1 = 1
    {%- else -%}
        {{ column }} in (
            select flagged.period from {{ ref('int_organisation_months_flagged') }} as flagged where {{ scope }}
        )
    {%- endif -%}
{%- endmacro %}

{#- The level whose anomaly flags describe an NHS trust of fct_trust_community_waits: its
    trust series ('trust') when trust_metrics holds it, else its own provider row
    ('provider'). One equality, so the join stays a hash join (a condition on the left
    side alone, `and not in_trust_metrics`, made DuckDB loop over every pair of rows). -#}
{% macro trust_flag_level(in_trust_metrics) -%}
    (case when {{ in_trust_metrics }} then 'trust' else 'provider' end)
{%- endmacro %}
