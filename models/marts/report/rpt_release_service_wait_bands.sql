{#-
    England's waiting list for each service, month and weeks-waited band (0-1 weeks to
    over 52 weeks), as patients and as a share of the service's list: the release
    report's service heatmap (section 4). Band labels and order from seeds/chs_wait_bands.csv.
-#}
{{ config(materialized='view') }}

with

national_services as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'National'

),

services as (

    select * from {{ ref('chs_services') }}

),

wait_bands as (

    select * from {{ ref('chs_wait_bands') }}
    where rolls_up_to is null

),

unpivoted as (

    select
        national_services.period,
        national_services.service_category,
        national_services.service_key,
        {{ service_name('national_services.service_label') }} as service_name,
        services.published_order,
        national_services.total_waiting,
        wait_bands.band_key,
        wait_bands.title_label as band_label,
        substr(wait_bands.title_label, 1, position(' (' in wait_bands.title_label) - 1) as band_name,
        wait_bands.band_order,
        case wait_bands.band_key
            {%- for band in report_wait_bands() %}
                when '{{ band }}' then national_services.{{ band }}
            {%- endfor %}
        end as patients
    from national_services
    inner join services
        on national_services.service_label = services.service_label
    cross join wait_bands

),

final as (

    select
        period,
        service_category,
        service_key,
        service_name,
        published_order,
        band_key,
        band_label,
        band_name,
        band_order,
        patients,
        total_waiting,
        {{ percent('patients', 'total_waiting') }} as pct_of_list
    from unpivoted

)

select * from final
