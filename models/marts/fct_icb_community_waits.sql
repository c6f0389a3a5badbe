{#-
    The ICB rows of fct_community_waits as published, one row per month x
    service for each integrated care board (ICB): one level, so nobody needs fct_community_waits'
    mixing rule (org_type) to read it. A view.
-#}
{{ config(materialized='view') }}

with

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'ICB'

),

final as (

    select
        community_waits.period,
        community_waits.org_code as icb_code,
        community_waits.org_name as icb_name,
        community_waits.service_category,
        community_waits.service_key,
        community_waits.service_label,
        {%- for measure in waiting_measures() %}
            community_waits.{{ measure }},
        {%- endfor %}
        community_waits.source_file_sha256
    from community_waits

)

select * from final
