package io.qspark.job.deploy;

import org.junit.jupiter.api.Timeout;
import java.util.concurrent.TimeUnit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

/**
 * The deployment files agree with the build: deploy/spark-submit.sh is valid bash and passes the
 * root pom's Java 17 options (from deploy/jvm-options, which the Airflow DAG reads too) to driver
 * and executors, and the Kubernetes manifest runs
 * io.qspark.job.Main from the jar the Dockerfile puts in the image, with the same options.
 */
// a hang guard for a test that waits on processes or servers, not a speed limit
@Timeout(value = 10, unit = TimeUnit.MINUTES)
public class DeployFilesTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

  /** spark.java17.opens of the root pom, read as XML. */
  public static String pomOpens() throws Exception {
    var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(REPO.resolve("pom.xml").toFile());
    Element props = (Element) doc.getDocumentElement().getElementsByTagName("properties").item(0);
    String v = props.getElementsByTagName("spark.java17.opens").item(0).getTextContent().strip();
    assertTrue(v.contains("--add-modules=jdk.incubator.vector"), v);
    return v;
  }

  @Test
  void submitScriptIsValidBash() throws Exception {
    Process p = new ProcessBuilder("bash", "-n", REPO.resolve("deploy/spark-submit.sh").toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertTrue(Files.isExecutable(REPO.resolve("deploy/spark-submit.sh")));
  }

  @Test
  void submitScriptPassesThePomOptionsToEveryJvm() throws Exception {
    String script = Files.readString(REPO.resolve("deploy/spark-submit.sh"));
    assertTrue(script.contains("options=\"${QSPARK_JVM_OPTIONS:-$here/jvm-options}\""), "reads deploy/jvm-options");
    assertTrue(script.contains("--conf \"spark.driver.extraJavaOptions=$JAVA17_OPTS\""), script);
    assertTrue(script.contains("--conf \"spark.executor.extraJavaOptions=$JAVA17_OPTS\""), script);
    assertTrue(script.contains("--class io.qspark.job.Main"), script);
    // the options as the script joins them: its own lines, run by bash
    int from = script.indexOf("options=");
    int to = script.indexOf("\n", script.indexOf("JAVA17_OPTS="));
    String lines = "here=" + REPO.resolve("deploy") + "\n" + script.substring(from, to) + "\nprintf '%s' \"$JAVA17_OPTS\"\n";
    Process p = new ProcessBuilder("bash", "-c", lines).redirectErrorStream(true).start();
    String joined = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), joined);
    assertEquals(pomOpens(), joined);
  }

  @Test
  void manifestRunsMainWithThePomOptionsFromTheImagesJar() throws Exception {
    JsonNode app = new YAMLMapper().readTree(REPO.resolve("deploy/k8s/sparkapplication.yaml").toFile());
    assertEquals("SparkApplication", app.get("kind").asText());
    assertTrue(app.get("apiVersion").asText().startsWith("sparkoperator.k8s.io/"));
    JsonNode spec = app.get("spec");
    assertEquals("io.qspark.job.Main", spec.get("mainClass").asText());
    assertEquals("Java", spec.get("type").asText());
    String opens = pomOpens();
    assertEquals(opens, spec.get("sparkConf").get("spark.driver.extraJavaOptions").asText());
    assertEquals(opens, spec.get("sparkConf").get("spark.executor.extraJavaOptions").asText());
    String jar = spec.get("mainApplicationFile").asText();
    assertTrue(jar.startsWith("local://"), jar);
    String dockerfile = Files.readString(REPO.resolve("deploy/k8s/Dockerfile"));
    assertTrue(dockerfile.contains("COPY job/target/qspark-0.1.0.jar " + jar.substring("local://".length()) + "\n"),
        "the Dockerfile puts the jar where the manifest runs it from: " + jar);
    assertTrue(spec.get("sparkVersion").asText().startsWith(sparkVersion().substring(0, 3)), "same Spark line as the pom");
    Matcher image = Pattern.compile("(?m)^ARG SPARK_IMAGE=apache/spark:([0-9.]+)-").matcher(dockerfile);
    assertTrue(image.find(), dockerfile);
    assertEquals(image.group(1), spec.get("sparkVersion").asText(), "the manifest names the image's Spark");
    // the output folder is renamed into place: not on an object store, whose rename copies file by file
    java.util.List<String> args = new java.util.ArrayList<>();
    spec.get("arguments").forEach(a -> args.add(a.asText()));
    String out = args.get(args.indexOf("--out") + 1);
    assertFalse(out.matches("(s3a?|gs|abfss?|wasbs?)://.*"), "--out " + out + " on an object store");
  }

  /** The manifest's executor is sized as the submit script's defaults (both explained there). */
  @Test
  void manifestAndScriptSizeExecutorsAlike() throws Exception {
    String script = Files.readString(REPO.resolve("deploy/spark-submit.sh"));
    JsonNode ex = new YAMLMapper().readTree(REPO.resolve("deploy/k8s/sparkapplication.yaml").toFile())
        .get("spec").get("executor");
    assertTrue(script.contains("${EXECUTOR_MEMORY:-" + ex.get("memory").asText() + "}"), ex.toString());
    assertTrue(script.contains("${EXECUTOR_OVERHEAD:-" + ex.get("memoryOverhead").asText() + "}"), ex.toString());
    assertTrue(script.contains("${EXECUTOR_CORES:-" + ex.get("cores").asText() + "}"), ex.toString());
  }

  private static String sparkVersion() throws IOException {
    Matcher m = Pattern.compile("<spark.version>([^<]+)</spark.version>").matcher(Files.readString(REPO.resolve("pom.xml")));
    assertTrue(m.find());
    return m.group(1);
  }
}
