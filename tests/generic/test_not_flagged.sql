{#-
    Lists the rows whose boolean `column_name` is true. For anomaly flags: configured to
    warn (the data is as published) and store the rows, each naming the organisation, the
    month, the figures and the likely cause.
-#}
{% test not_flagged(model, column_name) %}

select * from {{ model }}
where {{ column_name }}

{% endtest %}
