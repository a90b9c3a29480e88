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
    try (AtomicFolder f = AtomicFolder.begin(out, false, RunInputs.none())) {
      f.write("x.json", "{}");
      f.write("y.bin", new byte[] {1, 2, 3});
      assertFalse(Files.exists(out), "nothing at the target before the commit");
      f.commit();
    }
    assertEquals(List.of(OutputMarker.FILE, "x.json", "y.bin"), names(out), "no .crc files beside the outputs");
    assertEquals(List.of("a b%20c"), names(dir));

    UserError e = assertThrows(UserError.class, () -> AtomicFolder.begin(out, false, RunInputs.none()));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());

    try (AtomicFolder f = AtomicFolder.begin(out, true, RunInputs.none())) {
      f.write("z.json", "{\"v\": 2}");
      // abandoned: no commit
    }
    assertEquals(List.of(OutputMarker.FILE, "x.json", "y.bin"), names(out), "an abandoned run changes nothing");
    assertEquals(List.of("a b%20c"), names(dir), "and leaves no temporary folder");

    try (AtomicFolder f = AtomicFolder.create(out.toString(), true, RunInputs.none())) {
      f.write("z.json", "{\"v\": 2}");
      f.commit();
    }
    assertEquals(List.of(OutputMarker.FILE, "z.json"), names(out), "replaced as a whole, no old files mixed in");
    assertEquals(List.of("a b%20c"), names(dir), "the old folder is deleted");
  }

  @Test
  void overwriteReplacesOnlyQsparksFoldersHoldingOnlyWhatQsparkWrote(@TempDir Path dir) throws IOException {
    Path mine = dir.resolve("mine"), theirs = Files.createDirectories(dir.resolve("theirs"));
    Files.writeString(theirs.resolve("notes.txt"), "keep me");
    UserError e = assertThrows(UserError.class, () -> AtomicFolder.begin(theirs, true, RunInputs.none()));
    assertTrue(e.getMessage().contains("was not written by qspark (it has no _qspark.json)"), e.getMessage());
    assertEquals("keep me", Files.readString(theirs.resolve("notes.txt")));

    try (AtomicFolder f = AtomicFolder.begin(mine, false, RunInputs.none())) {
      f.write("a.json", "{}");
      f.commit();
    }
    String marker = Files.readString(mine.resolve(OutputMarker.FILE));
    assertTrue(marker.contains("\"written_by\": \"qspark\"") && marker.contains("\"a.json\""), marker);
    Files.writeString(mine.resolve("mine-too.txt"), "a user's file put into qspark's folder");
    e = assertThrows(UserError.class, () -> AtomicFolder.begin(mine, true, RunInputs.none()));
    assertTrue(e.getMessage().contains("holds 1 file qspark did not write (mine-too.txt)"), e.getMessage());
    Files.delete(mine.resolve("mine-too.txt"));
    try (AtomicFolder f = AtomicFolder.begin(mine, true, RunInputs.none())) {
      f.write("b.json", "{}");
      f.commit();
    }
    assertEquals(List.of(OutputMarker.FILE, "b.json"), names(mine));
  }

  @Test
  void outputsKeepApartFromInputs(@TempDir Path dir) throws IOException {
    Path data = Files.createDirectories(dir.resolve("x/sub")).resolve("d.gz");
    Files.write(data, new byte[] {1});
    RunInputs in = RunInputs.none().with("--data", data.toString());
    for (String out : new String[] {data.toString(), dir.resolve("x").toString(), dir.resolve("x/sub").toString()}) {
      UserError e = assertThrows(UserError.class, () -> AtomicFolder.create(out, true, in));
      assertTrue(e.getMessage().startsWith("--out " + out + " ") && e.getMessage().contains("--data " + data), e.getMessage());
    }
    RunInputs folder = RunInputs.none().with("--calib", dir.resolve("x").toString());
    UserError e = assertThrows(UserError.class, () -> AtomicFolder.create(dir.resolve("x/sub/out").toString(), false, folder));
    assertTrue(e.getMessage().contains("lies inside --calib"), e.getMessage());
    // beside, with a common prefix of the name: apart
    try (AtomicFolder f = AtomicFolder.create(dir.resolve("x/su").toString(), false, in)) {
      f.commit();
    }
    // through a link: the same place
    Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("x"));
    e = assertThrows(UserError.class, () -> AtomicFolder.create(link.resolve("sub").toString(), true, in));
    assertTrue(e.getMessage().contains(" contains --data"), e.getMessage());
  }

  @Test
  void relationsOfLocations() {
    org.apache.hadoop.fs.Path a = new org.apache.hadoop.fs.Path("hdfs://nn:8020/a/b");
    assertEquals("is", RunInputs.relation(a, new org.apache.hadoop.fs.Path("hdfs://nn:8020/a/b/")));
    assertEquals("contains", RunInputs.relation(a, new org.apache.hadoop.fs.Path("hdfs://nn:8020/a/b/c")));
    assertEquals("lies inside", RunInputs.relation(a, new org.apache.hadoop.fs.Path("hdfs://nn:8020/a")));
    assertEquals(null, RunInputs.relation(a, new org.apache.hadoop.fs.Path("hdfs://nn:8020/a/bc")));
    assertEquals(null, RunInputs.relation(a, new org.apache.hadoop.fs.Path("hdfs://other:8020/a/b")));
    assertEquals(null, RunInputs.relation(a, new org.apache.hadoop.fs.Path("file:/a/b")));
    assertEquals("contains", RunInputs.relation(new org.apache.hadoop.fs.Path("file:/"), new org.apache.hadoop.fs.Path("file:/x")));
  }

  /**
   * Temporary folders beside the target: removed when their lock is free (the run that made them
   * is dead), or, without a lock file, when older than this run; kept while a run holds the lock.
   */
  @Test
  void staleTemporaryFoldersOfDeadRunsAreRemoved(@TempDir Path dir) throws Exception {
    Path dead = Files.createDirectories(dir.resolve(".qspark-tmp-a-1"));
    Files.writeString(dead.resolve("quant_info.json"), "{}");
    Files.createFile(dir.resolve(".qspark-tmp-a-1.lock"));
    Path old = Files.createDirectories(dir.resolve(".qspark-tmp-b-2"));
    Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.fromMillis(0));
    Path recent = Files.createDirectories(dir.resolve(".qspark-tmp-c-3"));
    Path live = Files.createDirectories(dir.resolve(".qspark-tmp-d-4"));
    try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(dir.resolve(".qspark-tmp-d-4.lock"),
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock held = c.lock()) {
      try (AtomicFolder f = AtomicFolder.begin(dir.resolve("out"), false, RunInputs.none())) {
        f.commit();
      }
    }
    assertFalse(Files.exists(dead), "a temporary folder whose lock no one holds");
    assertFalse(Files.exists(dir.resolve(".qspark-tmp-a-1.lock")));
    assertFalse(Files.exists(old), "one without a lock file, older than this run");
    assertTrue(Files.exists(recent), "one without a lock file, made after this run started: maybe a live run's");
    assertTrue(Files.exists(live), "one whose lock is held");
  }

  @Test
  void abandonAllRemovesWhatIsNotCommitted(@TempDir Path dir) throws IOException {
    AtomicFolder f = AtomicFolder.begin(dir.resolve("out"), false, RunInputs.none());
    f.write("a.json", "{}");
    AtomicFolder.abandonAll();
    assertEquals(List.of(), names(dir), "no temporary folder, no lock file");
    assertThrows(IllegalStateException.class, f::commit);
  }
}
