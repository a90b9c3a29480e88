package io.qspark.job;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The layering every module keeps, read from the compiled classes (every reference the compiler
 * made counts, not only import lines): no package cycles in the job; no Spark, Hadoop or Scala
 * below the job or in its Spark-free packages; no package cycles in the kernels or the simulator
 * either, and float ops know nothing of quantization; the simulator knows nothing of the job; the
 * application layer knows nothing of the command line. The rules are checked against a small
 * set of classes made to break each of them, so a rule that could never fail is noticed.
 */
class PackageStructureTest {
  /** What Spark-free code must not use. */
  static final String[] SPARK = {"org.apache.spark..", "org.apache.hadoop..", "scala.."};

  /** The rules for a code base whose kernels, simulator and job live under these packages. */
  record Rules(String kernels, String dpu, String job) {
    /** Packages of the job that run without Spark (evaluation counting, preprocessing, models). */
    String[] sparkFree() {
      return new String[] {job + ".base..", job + ".preprocess..", job + ".model..", job + ".eval.."};
    }

    List<ArchRule> all() {
      return List.of(withoutCycles(kernels), withoutCycles(dpu), withoutCycles(job), entryPointOnTop(), kernelsWithoutSpark(),
          dpuWithoutJob(), sparkFreePackages(), opsWithoutQuant(), appWithoutCli(), picocliOnlyInCli());
    }

    /** No cycle among the packages directly under {@code root} (each with what lies below it). */
    static ArchRule withoutCycles(String root) {
      return slices().matching(root + ".(*)..").namingSlices(root.substring(root.lastIndexOf('.') + 1) + ".$1").should()
          .beFreeOfCycles().allowEmptyShould(true);
    }

    /** Float ops know nothing of quantization: fake-quant and DPU arithmetic build on them, not the reverse. */
    ArchRule opsWithoutQuant() {
      return noClasses().that().resideInAPackage(kernels + ".ops..").should().dependOnClassesThat()
          .resideInAPackage(kernels + ".quant..").allowEmptyShould(true);
    }

    /** The job's root package holds the entry point (Main) only: nothing below depends on it. */
    ArchRule entryPointOnTop() {
      return noClasses().that().resideInAPackage(job + ".*..").should().dependOnClassesThat().resideInAPackage(job)
          .allowEmptyShould(true);
    }

    ArchRule kernelsWithoutSpark() {
      return noClasses().that().resideInAPackage(kernels + "..").should().dependOnClassesThat().resideInAnyPackage(SPARK)
          .allowEmptyShould(true);
    }

    ArchRule dpuWithoutJob() {
      return noClasses().that().resideInAPackage(dpu + "..").should().dependOnClassesThat()
          .resideInAnyPackage(job + "..", "org.apache.spark..").allowEmptyShould(true);
    }

    ArchRule sparkFreePackages() {
      return noClasses().that().resideInAnyPackage(sparkFree()).should().dependOnClassesThat()
          .resideInAnyPackage(SPARK).orShould().dependOnClassesThat().resideInAPackage("picocli..").allowEmptyShould(true);
    }

    ArchRule appWithoutCli() {
      return noClasses().that().resideInAPackage(job + ".app..").should().dependOnClassesThat()
          .resideInAPackage(job + ".cli..").allowEmptyShould(true);
    }

    ArchRule picocliOnlyInCli() {
      return noClasses().that().resideInAPackage(job + "..").and().resideOutsideOfPackage(job + ".cli..")
          .should().dependOnClassesThat().resideInAPackage("picocli..").allowEmptyShould(true);
    }
  }

  private static java.net.URL origin(Class<?> c) {
    return c.getProtectionDomain().getCodeSource().getLocation();
  }

  @Test
  void theModulesKeepTheirLayering() {
    // from the three modules' own class folders or jars: scanning the whole (Spark) classpath for
    // the packages takes most of a minute
    JavaClasses classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importUrls(List.of(origin(io.qspark.kernels.model.Model.class), origin(io.qspark.dpu.Simulator.class),
            origin(Main.class)));
    assertTrue(classes.size() > 300, "the main classes of all three modules: " + classes.size());
    for (ArchRule rule : new Rules("io.qspark.kernels", "io.qspark.dpu", "io.qspark.job").all()) rule.check(classes);
  }

  /** io.qspark.archfixture (test classes) breaks each rule once; every rule must notice. */
  @Test
  void everyRuleFailsOnCodeThatBreaksIt() {
    JavaClasses fixture = new ClassFileImporter().importUrls(List.of(origin(io.qspark.archfixture.cycle.a.A.class)))
        .that(com.tngtech.archunit.base.DescribedPredicate.describe("in io.qspark.archfixture",
            c -> c.getPackageName().startsWith("io.qspark.archfixture")));
    Rules broken = new Rules("io.qspark.archfixture.kernels", "io.qspark.archfixture.dpu", "io.qspark.archfixture.job");
    Rules cyclic = new Rules("-", "-", "io.qspark.archfixture.cycle");
    for (ArchRule rule : List.of(Rules.withoutCycles("io.qspark.archfixture.cycle"), broken.kernelsWithoutSpark(),
        broken.dpuWithoutJob(), broken.opsWithoutQuant(), broken.appWithoutCli())) {
      EvaluationResult r = rule.evaluate(fixture);
      assertTrue(r.hasViolation(), "should fail on the fixture: " + rule.getDescription());
    }
    // and the fixture's own clean parts pass: the rules do not fail on everything
    assertFalse(cyclic.appWithoutCli().evaluate(fixture).hasViolation());
    assertFalse(new Rules("io.qspark.archfixture.cycle", "-", "-").kernelsWithoutSpark().evaluate(fixture).hasViolation());
  }
}
