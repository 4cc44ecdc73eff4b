/**
 * Traditional (and Japanese shinjitai / look-alike variant) → simplified characters, for the
 * characters that occur in the compliance rule list, the context cues, the disclosures and the
 * product keywords. It is deliberately not a general converter: a character missing here only
 * matters if a rule uses it, and adding one is a one-line change. Every key is a single character
 * whose mapping is unambiguous in banking text (no 著/后/干-style one-to-many cases).
 */
const PAIRS =
  // promises, risk, guarantees
  '保保 證证 証证 諾诺 風风 險险 険险 穩稳 穏稳 賺赚 賠赔 虧亏 會会 無无 沒没 絕绝 對对 剛刚 兌兑 ' +
  '夲本 贏赢 損损 擔担 護护 障障 確确 實实 際际 預预 較较 準准 標标 範范 圍围 條条 規规 則则 違违 ' +
  // superlatives, sales words
  '優优 業业 績绩 隻只 衹只 祇只 買买 賣卖 購购 搶抢 時时 間间 錯错 過过 來来 現现 價价 漲涨 類类 ' +
  '專专 屬属 於于 為为 說说 傳传 銷销 誘诱 餌饵 詐诈 騙骗 術术 當当 輕轻 別别 並并 嚴严 構构 見见 ' +
  '個个 筆笔 項项 種种 測测 評评 換换 錢钱 萬万 這这 們们 請请 問问 顧顾 經经 師师 應应 權权 益益 ' +
  // products, disclosures
  '財财 產产 須须 謹谨 資资 貸贷 費费 長长 壽寿 養养 儲储 積积 貴贵 匯汇 銀银 債债 數数 醫医 療疗 ' +
  '終终 單单 額额 淨净 認认 贖赎 薦荐 報报 歷历 據据 償偿 級级 擊击 虛虚 團团 號号 帳账 賬账 戶户 ' +
  '動动 態态 機机 構构 設设 計计 劃划 務务 點点 網网 線线 門门 關关 閉闭 開开 啟启 啓启 總总 麼么 麽么';

export const TRADITIONAL_TO_SIMPLIFIED: ReadonlyMap<string, string> = new Map(
  PAIRS.split(/\s+/)
    .filter((pair) => pair.length === 2)
    .map((pair) => [pair[0]!, pair[1]!] as const)
    .filter(([from, to]) => from !== to),
);
