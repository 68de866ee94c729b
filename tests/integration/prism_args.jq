# prism_args.jq — valid arguments for one tool bundle, generated from its
# input_schema (used by test_prism.sh): required arguments only, values from
# enum/const/default/example, else a value of the type that satisfies the
# usual constraints (format, min/max length, minimum/maximum, minItems);
# {"$ref": "#/$defs/NAME"} is followed into the tool's $defs.
def first_type:
  (.type | if type == "array" then (map(select(. != "null"))[0]) else . end)
  // (if .properties then "object" elif .items then "array" else "string" end);
def pad($n): if length < $n then . + ("x" * ($n - length)) else . end;
def gen($defs; $d):
  if $d > 10 or (has("x-toolq-truncated")) then null
  elif has("$ref") then ($defs[.["$ref"] | ltrimstr("#/$defs/")] // {}) | gen($defs; $d + 1)
  elif (.enum | type) == "array" and ((.enum | map(select(. != null)) | length) > 0) then (.enum | map(select(. != null))[0])
  elif has("const") then .const
  elif has("default") and .default != null then .default
  elif has("example") and .example != null then .example
  elif (.oneOf // .anyOf) then ((.oneOf // .anyOf)[0] | gen($defs; $d + 1))
  else
    first_type as $t
    | if $t == "string" then
        (.format // "") as $f
        | if $f == "date-time" then "2024-01-02T03:04:05Z"
          elif $f == "date" then "2024-01-02"
          elif $f == "time" then "03:04:05"
          elif $f == "email" then "ann@example.com"
          elif $f == "uuid" then "123e4567-e89b-12d3-a456-426614174000"
          elif $f == "uri" or $f == "url" or $f == "uri-reference" then "https://example.com/x"
          elif $f == "hostname" then "example.com"
          elif $f == "ipv4" then "192.0.2.1"
          elif $f == "ipv6" then "2001:db8::1"
          elif $f == "byte" then "aGVsbG8="
          elif $f == "binary" then {"filename": "a.bin", "content_type": "application/octet-stream", "data": "aGVsbG8="}
          else (.minLength // 0) as $ml | ("abc" | pad($ml)) as $s
            | if .maxLength and ($s | length) > .maxLength then $s[0:.maxLength] else $s end
          end
      elif $t == "integer" or $t == "number" then
        (if (.exclusiveMinimum | type) == "number" then .exclusiveMinimum + 1
         elif .minimum != null then (if .exclusiveMinimum == true then .minimum + 1 else .minimum end)
         else 1 end) as $v
        | (if .maximum != null and $v > .maximum then .maximum else $v end) as $v
        | if .multipleOf then (($v / .multipleOf) | ceil) * .multipleOf else $v end
        | if $t == "integer" then floor else . end
      elif $t == "boolean" then true
      elif $t == "array" then
        (.items // {}) as $it
        | [range([(.minItems // 1), 1] | max)] | map($it | gen($defs; $d + 1)) | map(select(. != null))
      elif $t == "object" then
        . as $o
        | [($o.required // [])[] | select(($o.properties // {})[.] != null)
           | {key: ., value: ($o.properties[.] | gen($defs; $d + 1))}]
        | map(select(.value != null)) | from_entries
      else null end
  end;
.input_schema as $s
| [($s.required // [])[] | {key: ., value: ($s.properties[.] | gen($s["$defs"] // {}; 0))}]
| map(select(.value != null)) | from_entries
