{#-
    The measure columns of fct_community_waits, in published order: the total, then each
    weeks-waited band (the canonical wait_52_plus_weeks before the split bands).
-#}
{% macro waiting_measures() -%}
    {{ return([
        'total_waiting', 'wait_0_1_weeks', 'wait_1_2_weeks', 'wait_2_4_weeks', 'wait_4_12_weeks',
        'wait_12_18_weeks', 'wait_18_52_weeks', 'wait_52_plus_weeks', 'wait_52_104_weeks',
        'wait_104_plus_weeks',
    ]) }}
{%- endmacro %}
