{#-
    Every provider code of seeds/trust_mapping.csv with the trust its figures count
    towards once successors are applied (seeds/trust_successors.csv): a predecessor's
    figures count towards its successor's trust in every month, before the change too, so
    a trust's series compares like with like across a merger. The one place a provider is
    mapped to a trust: every model that builds a trust's series reads it.
-#}
with

trust_mapping as (

    select * from {{ ref('trust_mapping') }}

),

trust_successors as (

    select * from {{ ref('trust_successors') }}

),

resolved as (

    select
        trust_mapping.org_code,
        trust_mapping.org_name,
        trust_mapping.match_reason,
        trust_mapping.trust_code as mapped_trust_code,
        trust_successors.successor_code,
        trust_successors.effective_period as successor_effective_period,
        trust_successors.change_kind as successor_change_kind,
        case
            when trust_successors.predecessor_code is not null then successor_mapping.trust_code
            else trust_mapping.trust_code
        end as trust_code
    from trust_mapping
    left join trust_successors
        on trust_mapping.org_code = trust_successors.predecessor_code
    left join trust_mapping as successor_mapping
        on trust_successors.successor_code = successor_mapping.org_code

)

select * from resolved
