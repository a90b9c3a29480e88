package io.qspark.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.output.CalibrationFolder;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The typed folders of io.qspark.job.output alone know their file names: no other main source
 * of the job spells one as a string literal. The names are the folder classes' own constants,
 * read here by reflection, so a new file name is covered as soon as a folder type declares it.
 */
class FileNamesTest {
  static final Path MAIN = Path.of(System.getProperty("user.dir"), "src", "main", "java");
  static final Path OUTPUT = MAIN.resolve("io/qspark/job/output");

  /** Every String constant of the output package's classes that names a file or a file suffix. */
  static Set<String> names() throws Exception {
    Set<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.list(OUTPUT)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String simple = f.getFileName().toString().replace(".java", "");
        if (simple.equals("package-info")) continue;
        Class<?> c = Class.forName(CalibrationFolder.class.getPackageName() + "." + simple);
        for (Field field : c.getDeclaredFields()) {
          if (field.getType() != String.class || !Modifier.isStatic(field.getModifiers()) || !Modifier.isFinal(field.getModifiers())) {
            continue;
          }
          field.setAccessible(true);
          String v = (String) field.get(null);
          if (v != null && v.matches("\\.?[a-z_]+\\.[a-z]+|\\.[a-z]+")) names.add(v);
        }
      }
    }
    return names;
  }

  @Test
  void onlyTheOutputPackageSpellsFileNames() throws Exception {
    Set<String> names = names();
    assertTrue(names.containsAll(List.of("quant_info.json", "float_model.onnx", "quantize_eval_model.onnx",
        "deploy_model.txt", "report.json", "report.html", "train_history.csv", "folder.json", ".checkpoints")), names.toString());
    List<String> found = new ArrayList<>();
    int inOutput = 0;
    try (Stream<Path> all = Files.walk(MAIN)) {
      for (Path f : all.filter(p -> p.toString().endsWith(".java")).toList()) {
        String text = Files.readString(f);
        for (String n : names) {
          if (!text.contains("\"" + n + "\"")) continue;
          if (f.startsWith(OUTPUT)) inOutput++;
          else found.add(MAIN.relativize(f) + ": \"" + n + "\"");
        }
      }
    }
    assertTrue(inOutput >= names.size() - 1, "the scan finds the names where they are declared: " + inOutput);
    assertEquals(List.of(), found, "file names spelled outside io.qspark.job.output");
  }
}
