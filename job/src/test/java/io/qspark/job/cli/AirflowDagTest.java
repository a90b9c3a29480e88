package io.qspark.job.cli;

import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
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
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 10, unit = TimeUnit.MINUTES)
public class AirflowDagTest {
  static final Path DAG = Path.of(System.getProperty("user.dir")).resolve("../deploy/airflow/qspark_dag.py").normalize();

  /**
   * The DAG's stages, in order, each its application arguments with the templates rendered
   * ({{ ds }}, {{ params.max_top1_drop }}), read from its STAGES literal with Python's ast.
   */
  public static Map<String, List<String>> stages(String ds, String maxTop1Drop) throws Exception {
    String script = String.join("\n",
        "import ast, json, sys",
        "tree = ast.parse(open(sys.argv[1]).read())",
        "env = {}",
        "for node in tree.body:",
        "    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):",
        "        name = node.targets[0].id",
        "        if name in ('QSPARK_HOME', 'JAR', 'ROOT', 'RUN', 'STAGES'):",
        "            env[name] = eval(compile(ast.Expression(node.value), 'dag', 'eval'), {}, dict(env))",
        "print(json.dumps(env['STAGES']))");
    Process p = new ProcessBuilder("python3", "-c", script, DAG.toString()).redirectErrorStream(true).start();
    String json = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), json);
    JsonNode stages = new ObjectMapper().readTree(json);
    Map<String, String> templates = Map.of("{{ ds }}", ds, "{{ params.max_top1_drop }}", maxTop1Drop);
    Map<String, List<String>> r = new java.util.LinkedHashMap<>();
    for (String stage : iterable(stages.fieldNames())) {
      List<String> args = new ArrayList<>();
      for (JsonNode a : stages.get(stage)) {
        String v = a.asText();
        for (Map.Entry<String, String> t : templates.entrySet()) v = v.replace(t.getKey(), t.getValue());
        assertTrue(!v.contains("{{"), "unrendered template in " + stage + ": " + v);
        args.add(v);
      }
      assertEquals(stage, args.get(0), "a stage's first argument is its command");
      r.put(stage, args);
    }
    return r;
  }

  @Test
  void everyStageLineParses() throws Exception {
    Map<String, List<String>> stages = stages("2026-11-24", "0.5");
    assertEquals(List.of("finetune", "deploy", "simulate"), List.copyOf(stages.keySet()));
    for (Map.Entry<String, List<String>> stage : stages.entrySet()) {
      List<String> args = new ArrayList<>(stage.getValue());
      args.add("--print-config");
      Run r = Run.of(args.toArray(String[]::new));
      assertEquals(0, r.code(), stage.getKey() + ": " + String.join(" ", args) + "\n" + r.err());
    }
  }

  /**
   * The DAG's helper module (no Airflow needed): the JVM options it reads are the pom's, from
   * the file deploy/spark-submit.sh reads; exit codes 2 (bad input) and 4 (the gate), as
   * ExitCodes defines them, are not retried, 3 (the Spark job failed) is, as found in the
   * messages Airflow's SparkSubmitHook raises.
   */
  @Test
  void deterministicFailuresAreNotRetriedAndJvmOptionsAreTheSubmitScripts() throws Exception {
    Path airflow = Path.of(System.getProperty("user.dir")).resolve("../deploy/airflow").normalize();
    String script = String.join("\n",
        "import json, sys",
        "sys.path.insert(0, sys.argv[1])",
        "import qspark_ops as q",
        "msg = lambda code: 'Cannot execute: spark-submit --class io.qspark.job.Main qspark.jar simulate. Error code is: %d.' % code",
        "print(json.dumps({'jvm': q.jvm_options(sys.argv[2]),",
        "  'not_retried': sorted(q.NOT_RETRIED), 'codes': [q.BAD_INPUT, q.JOB_FAILED, q.GATE_FAILED],",
        "  'retried': [c for c in (1, 2, 3, 4, 130, 143) if q.not_retried(msg(c)) is None],",
        "  'k8s': q.exit_code('spark-submit ... Spark submit error. Exit code: 4. Kubernetes spark exit code is: 4'),",
        "  'none': q.exit_code('no code here')}))");
    Process p = new ProcessBuilder("python3", "-c", script, airflow.toString(), airflow.resolve("../jvm-options").toString())
        .redirectErrorStream(true).start();
    String json = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), json);
    JsonNode r = new ObjectMapper().readTree(json);
    assertEquals(io.qspark.job.deploy.DeployFilesTest.pomOpens(), r.get("jvm").asText());
    assertEquals(List.of(ExitCodes.BAD_INPUT, ExitCodes.JOB_FAILED, ExitCodes.GATE_FAILED), ints(r.get("codes")));
    assertEquals(List.of(ExitCodes.BAD_INPUT, ExitCodes.GATE_FAILED), ints(r.get("not_retried")));
    assertEquals(List.of(1, 3, 130, 143), ints(r.get("retried")));
    assertEquals(4, r.get("k8s").asInt());
    assertTrue(r.get("none").isNull());
    String dag = java.nio.file.Files.readString(DAG);
    assertTrue(dag.contains("JAVA_OPTS = qspark_ops.jvm_options("), "the DAG's JVM options are the shared file's");
    assertTrue(dag.contains("name: QsparkSubmitOperator("), "every task is a QsparkSubmitOperator");
    assertTrue(dag.contains("raise AirflowFailException("), "a deterministic failure fails the task without retries");
  }

  private static List<Integer> ints(JsonNode a) {
    List<Integer> r = new ArrayList<>();
    a.forEach(n -> r.add(n.asInt()));
    return r;
  }

  private static List<String> iterable(java.util.Iterator<String> it) {
    List<String> r = new ArrayList<>();
    it.forEachRemaining(r::add);
    return r;
  }
}
