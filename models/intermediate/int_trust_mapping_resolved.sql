{#-
    Every provider code of seeds/trust_mapping.csv with the trust its figures count
    towards once successors are applied (seeds/trust_successors.csv): a predecessor's
    figures count towards its successor's trust in every month, before the change too, so
    a trust's series compares like with like across a merger. The one place a provider is
    mapped to a trust: every model that builds a trust's series reads it.

    nhs_trust_code widens trust_code to every NHS trust provider: a trust in trust_metrics
    (trust_code), or an NHS trust the trust_metrics table does not hold
    (`not_in_trust_metrics`: its own code), successors applied the same way. Null for
    providers that are not NHS trusts (`not_an_nhs_trust`) and unmapped ones.
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
        end as trust_code,
        case
            when trust_successors.predecessor_code is not null
                then coalesce(
                        successor_mapping.trust_code,
                        case
                            when successor_mapping.match_reason = 'not_in_trust_metrics' then successor_mapping.org_code
                        end
                    )
            else coalesce(
                    trust_mapping.trust_code,
                    case when trust_mapping.match_reason = 'not_in_trust_metrics' then trust_mapping.org_code end
                )
        end as nhs_trust_code
    from trust_mapping
    left join trust_successors
        on trust_mapping.org_code = trust_successors.predecessor_code
    left join trust_mapping as successor_mapping
        on trust_successors.successor_code = successor_mapping.org_code

),

final as (

    select
        org_code,
        org_name,
        match_reason,
        mapped_trust_code,
        successor_code,
        successor_effective_period,
        successor_change_kind,
        trust_code,
        nhs_trust_code,
        case when nhs_trust_code is not null then trust_code is not null end as in_trust_metrics
    from resolved

)

select * from final
