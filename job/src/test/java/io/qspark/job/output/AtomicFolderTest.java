package io.qspark.job.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.qspark.job.base.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** AtomicFolder on the local disk: all or nothing, whole replacement, no checksum files, odd names. */
class AtomicFolderTest {
  static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void commitsWholeReplacesWholeAndLeavesNothingWhenAbandoned(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("a b%20c");
    try (AtomicFolder f = AtomicFolder.begin(out, false)) {
      f.write("x.json", "{}");
      f.write("y.bin", new byte[] {1, 2, 3});
      assertFalse(Files.exists(out), "nothing at the target before the commit");
      f.commit();
    }
    assertEquals(List.of("x.json", "y.bin"), names(out), "no .crc files beside the outputs");
    assertEquals(List.of("a b%20c"), names(dir));

    UserError e = assertThrows(UserError.class, () -> AtomicFolder.begin(out, false));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());

    try (AtomicFolder f = AtomicFolder.begin(out, true)) {
      f.write("z.json", "{\"v\": 2}");
      // abandoned: no commit
    }
    assertEquals(List.of("x.json", "y.bin"), names(out), "an abandoned run changes nothing");
    assertEquals(List.of("a b%20c"), names(dir), "and leaves no temporary folder");

    try (AtomicFolder f = AtomicFolder.create(out.toString(), true)) {
      f.write("z.json", "{\"v\": 2}");
      f.commit();
    }
    assertEquals(List.of("z.json"), names(out), "replaced as a whole, no old files mixed in");
    assertEquals(List.of("a b%20c"), names(dir), "the old folder is deleted");
  }
}
