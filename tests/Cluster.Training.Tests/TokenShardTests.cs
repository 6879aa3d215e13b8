using Cluster.Training.Data;

namespace Cluster.Training.Tests;

[Collection("corpus")]
public sealed class TokenShardTests(TestCorpus corpus)
{
    [Fact]
    public void Every_non_blank_line_is_a_document_with_the_tokenizers_ids()
    {
        using var shards = TokenCorpus.Open(corpus.ShardDirectory, TokenizerFingerprint.Compute(corpus.TokenizerDirectory));
        Assert.Equal(corpus.Lines.Length, shards.Documents);
        for (var i = 0; i < corpus.Lines.Length; i += 97)
            Assert.Equal(corpus.Tokenizer.Encode(corpus.Lines[i]).InputIds, shards.Document(i).ToArray());
        Assert.Equal("roberta", shards.Manifest.ModelType);
        Assert.Equal(corpus.Tokenizer.TokenToId("<mask>"), shards.Manifest.MaskTokenId);
        Assert.Equal(corpus.Lines.Sum(l => (long)corpus.Tokenizer.Encode(l).Length), shards.Tokens);
    }

    [Fact]
    public void Packed_examples_are_consecutive_cuts_of_the_concatenated_documents_and_line_examples_keep_their_end()
    {
        using var shards = TokenCorpus.Open(corpus.ShardDirectory);
        var all = Enumerable.Range(0, (int)shards.Documents).SelectMany(d => shards.Document(d).ToArray()).ToArray();
        var packed = new PretrainingExamples(shards, 16, ExampleMode.Packed);
        Assert.Equal(all.Length / 16, packed.Count);
        var buffer = new int[16];
        foreach (var i in new long[] { 0, 1, 7, packed.Count - 1 })
        {
            Assert.Equal(16, packed.Copy(i, buffer));
            Assert.Equal(all.AsSpan((int)i * 16, 16).ToArray(), buffer);
        }

        var lines = new PretrainingExamples(shards, 8, ExampleMode.Line);
        Assert.Equal(shards.Documents, lines.Count);
        var n = lines.Copy(3, buffer);
        var document = shards.Document(3).ToArray();
        Assert.Equal(Math.Min(8, document.Length), n);
        Assert.Equal(document[^1], buffer[n - 1]); // </s> survives truncation
        Assert.Equal(document[..(n - 1)], buffer[..(n - 1)]);
    }

    [Fact]
    public void Another_tokenizer_a_damaged_shard_and_an_empty_corpus_are_refused()
    {
        var wrong = Assert.Throws<CorpusException>(() => TokenCorpus.Open(corpus.ShardDirectory, new string('0', 64)));
        Assert.Contains("was prepared with another tokenizer", wrong.Message);

        var copy = Path.Combine(corpus.Root, "damaged");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(corpus.ShardDirectory)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var ids = Path.Combine(copy, TokenShardManifest.StreamFile("shard-00000", "input_ids"));
        using (var stream = new FileStream(ids, FileMode.Open)) stream.SetLength(stream.Length - 4);
        Assert.Contains("bytes, the manifest implies", Assert.Throws<CorpusException>(() => TokenCorpus.Open(copy)).Message);

        var blank = Path.Combine(corpus.Root, "blank.txt");
        File.WriteAllText(blank, "\n   \n\n");
        var none = Assert.Throws<CorpusException>(() => CorpusPreparation.Prepare(corpus.Tokenizer, corpus.TokenizerDirectory, [blank], Path.Combine(corpus.Root, "blank")));
        Assert.Contains("no text (every line is blank)", none.Message);
        Assert.Contains("already holds a prepared corpus",
            Assert.Throws<CorpusException>(() => CorpusPreparation.Prepare(corpus.Tokenizer, corpus.TokenizerDirectory, [corpus.CorpusFile], corpus.ShardDirectory)).Message);
    }
}
