output "topic_arn" {
  description = "SNS topic of every alarm and ECS failure notification: subscribe a pager or chat integration to it."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "The CloudWatch alarms, for dashboards and `aws cloudwatch describe-alarms`."
  value = concat(
    [for alarm in aws_cloudwatch_metric_alarm.dead_letter : alarm.alarm_name],
    aws_cloudwatch_metric_alarm.redis_memory[*].alarm_name,
    [for alarm in aws_cloudwatch_metric_alarm.task_memory : alarm.alarm_name],
    [
      aws_cloudwatch_metric_alarm.api_no_healthy_task.alarm_name,
      aws_cloudwatch_metric_alarm.api_errors.alarm_name,
      aws_cloudwatch_metric_alarm.mlflow_host_status.alarm_name,
    ],
  )
}
