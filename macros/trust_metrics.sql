{#-
    The JSON domains of trust_metrics and the extract columns that feed each, by column
    prefix. Columns matching no prefix are capacity figures (avg_daily_discharges,
    virtual_ward_*). Returns {domain: [column, ...]} for the given relation.
-#}
{% macro trust_metrics_domain_columns(relation) -%}
    {%- set prefixes = {
        'rtt_data': ['rtt_', 'trust_total_'],
        'ae_data': ['ae_'],
        'diagnostics_data': ['diag_'],
    } -%}
    {%- set non_metric_columns = [
        'trust_code', 'trust_name', 'period', 'icb_code', 'icb_name',
        'source_file_sha256', 'source_row_number',
    ] -%}
    {%- set domains = {'rtt_data': [], 'ae_data': [], 'diagnostics_data': [], 'capacity_data': []} -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- set name = column.name | lower -%}
            {%- if name not in non_metric_columns -%}
                {%- set ns = namespace(domain='capacity_data') -%}
                {%- for domain, domain_prefixes in prefixes.items() -%}
                    {%- for prefix in domain_prefixes if name.startswith(prefix) -%}
                        {%- set ns.domain = domain -%}
                    {%- endfor -%}
                {%- endfor -%}
                {%- do domains[ns.domain].append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(domains) }}
{%- endmacro %}

{#- Post-hook of trust_metrics: rows whose trust-month is no longer in the extract. -#}
{% macro trust_months_not_in_extract_deleted() -%}
    delete from {{ this }}
    where not exists (
        select 1 from {{ ref('int_trust_metrics_deduplicated') }} as trust_months
        where
            trust_months.trust_code = {{ this.identifier }}.trust_code
            and trust_months.period = {{ this.identifier }}.period
    )
{%- endmacro %}

{#- A number from trust_metrics' rtt_data JSON (its flat keys, e.g.
    rtt_trauma_orthopaedics_total_incomplete_pathways), as a float. -#}
{% macro rtt_measure(rtt_data, key) -%}
    cast({{ json_get_text(rtt_data, ["'" ~ key ~ "'"]) }} as {{ dbt.type_float() }})
{%- endmacro %}
