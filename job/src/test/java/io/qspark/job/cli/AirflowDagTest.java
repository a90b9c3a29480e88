package io.qspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qspark.job.Run;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every application argument of the Airflow DAG is accepted by the job's own parser: the DAG's
 * STAGES literal is read with Python's ast (no Airflow needed), templates are rendered with a
 * run date and the DAG's params, and each stage's line is parsed with --print-config, which
 * parses and validates without running.
 */
class AirflowDagTest {
  @Test
  void everyStageLineParses() throws Exception {
    Path dag = Path.of(System.getProperty("user.dir")).resolve("../deploy/airflow/qspark_dag.py").normalize();
    String script = String.join("\n",
        "import ast, json, sys",
        "tree = ast.parse(open(sys.argv[1]).read())",
        "env = {}",
        "for node in tree.body:",
        "    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):",
        "        name = node.targets[0].id",
        "        if name in ('JAR', 'ROOT', 'RUN', 'STAGES'):",
        "            env[name] = eval(compile(ast.Expression(node.value), 'dag', 'eval'), {}, dict(env))",
        "print(json.dumps(env['STAGES']))");
    Process p = new ProcessBuilder("python3", "-c", script, dag.toString()).redirectErrorStream(true).start();
    String json = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), json);
    JsonNode stages = new ObjectMapper().readTree(json);
    assertEquals(List.of("calibrate", "finetune", "deploy", "simulate"), iterable(stages.fieldNames()));
    Map<String, String> templates = Map.of("{{ ds }}", "2026-11-24", "{{ params.max_top1_drop }}", "0.5");
    for (String stage : iterable(stages.fieldNames())) {
      List<String> args = new ArrayList<>();
      for (JsonNode a : stages.get(stage)) {
        String v = a.asText();
        for (Map.Entry<String, String> t : templates.entrySet()) v = v.replace(t.getKey(), t.getValue());
        assertTrue(!v.contains("{{"), "unrendered template in " + stage + ": " + v);
        args.add(v);
      }
      assertEquals(stage, args.get(0), "a stage's first argument is its command");
      args.add("--print-config");
      Run r = Run.of(args.toArray(String[]::new));
      assertEquals(0, r.code(), stage + ": " + String.join(" ", args) + "\n" + r.err());
    }
  }

  private static List<String> iterable(java.util.Iterator<String> it) {
    List<String> r = new ArrayList<>();
    it.forEachRemaining(r::add);
    return r;
  }
}
