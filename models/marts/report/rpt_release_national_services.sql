{#-
    England's waiting list for each service and month (the National rows), with its
    rank by list size within its category and its share of the category's list, and
    its rank by the share of its list waiting over 52 weeks. Release report, section 3.
-#}
{{ config(materialized='view') }}

with

community_waits as (

    select * from {{ ref('fct_community_waits') }}
    where org_type = 'National'

),

services as (

    select * from {{ ref('chs_services') }}

),

measured as (

    select
        community_waits.period,
        community_waits.service_category,
        community_waits.service_key,
        {{ service_name('community_waits.service_label') }} as service_name,
        services.published_order,
        community_waits.total_waiting,
        community_waits.wait_52_plus_weeks,
        {{ percent('community_waits.wait_52_plus_weeks', 'community_waits.total_waiting') }} as pct_over_52_weeks,
        {{ percent(waiting_in_bands(within_18_weeks=true), waiting_in_bands()) }} as pct_within_18_weeks,
        sum(community_waits.total_waiting) over (
            partition by community_waits.period, community_waits.service_category
        ) as category_total_waiting
    from community_waits
    inner join services
        on community_waits.service_label = services.service_label

),

final as (

    select
        period,
        service_category,
        service_key,
        service_name,
        published_order,
        total_waiting,
        {{ percent('total_waiting', 'category_total_waiting') }} as pct_of_category,
        wait_52_plus_weeks,
        pct_over_52_weeks,
        pct_within_18_weeks,
        row_number() over (
            partition by period, service_category
            order by coalesce(total_waiting, -1) desc, published_order asc
        ) as list_size_rank,
        row_number() over (
            partition by period
            order by coalesce(pct_over_52_weeks, -1) desc, service_category asc, published_order asc
        ) as long_wait_share_rank
    from measured

)

select * from final
