locals {
  # One client (a payment gateway's single egress IP) may use what the API serves at its autoscaling
  # ceiling, no more. A fixed 20,000 per 5 minutes (66 requests/s) throttled such a client at 40% of
  # prod's ceiling (10 tasks x 1,000 requests a minute: 166/s).
  waf_rate_limit = coalesce(var.waf_rate_limit, var.api.max_count * var.api.requests_per_target * 5)
}

# AWS WAF in front of the API's load balancer: a per-client-IP rate limit, AWS's known-bad-inputs and
# anonymous-IP rules, and the internal paths (/docs, /redoc, /openapi.json, /metrics) refused after URL
# decoding and path normalisation, so `/%6detrics` or `//metrics` cannot slip past the listener rule's plain
# path match.
resource "aws_wafv2_web_acl" "api" {
  name        = "${var.name_prefix}-api"
  description = "API load balancer: rate limit per IP, known bad inputs, no internal paths"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "internal-paths"
    priority = 0

    action {
      block {
        custom_response {
          response_code = 404
        }
      }
    }

    statement {
      or_statement {
        dynamic "statement" {
          for_each = local.internal_paths
          content {
            byte_match_statement {
              search_string         = statement.value
              positional_constraint = "STARTS_WITH"

              field_to_match {
                uri_path {}
              }

              text_transformation {
                priority = 0
                type     = "URL_DECODE"
              }

              text_transformation {
                priority = 1
                type     = "NORMALIZE_PATH"
              }
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name_prefix}-api-internal-paths"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 1

    action {
      block {
        custom_response {
          response_code = 429
        }
      }
    }

    statement {
      rate_based_statement {
        limit              = local.waf_rate_limit
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name_prefix}-api-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  # Log4Shell and other known exploit payloads; the common rule set is left out on purpose: its body size
  # rule (8 KB) would block legitimate /v1/score/batch requests.
  rule {
    name     = "aws-known-bad-inputs"
    priority = 2

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name_prefix}-api-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  # Tor exit nodes, anonymous proxies and VPN services. Its HostingProviderIPList rule only counts: the API's
  # callers are servers, often in a cloud provider's address space, and alb_ingress_cidrs already names them.
  rule {
    name     = "aws-anonymous-ip"
    priority = 3

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"

        rule_action_override {
          name = "HostingProviderIPList"

          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name_prefix}-api-anonymous-ip"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name_prefix}-api"
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "api" {
  resource_arn = aws_lb.api.arn
  web_acl_arn  = aws_wafv2_web_acl.api.arn
}

# WAF logs go to the KMS-encrypted log group aws-waf-logs-<prefix> (the name WAF requires). The API's bearer
# tokens travel in the Authorization header: it is redacted.
resource "aws_wafv2_web_acl_logging_configuration" "api" {
  resource_arn            = aws_wafv2_web_acl.api.arn
  log_destination_configs = [var.log_group_arns["waf"]]

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}
