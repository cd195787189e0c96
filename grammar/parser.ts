// The .rnn grammar as a Chevrotain CST parser (LL(k), k <= 3).
//
// Rule names follow grammar/GRAMMAR.md one to one, and the CST children are
// LABELled with the role they play (`name`, `value`, `ops`, ...), which is
// what compiler/ast/cst-to-ast.ts reads. Error recovery is on: Chevrotain
// inserts or deletes single tokens and re-synchronises at the follow sets of
// the enclosing rules (in particular at the next `dim`/`cell`/`model`/`train`
// and at the next statement of a block), so one run reports several errors.
//
// The messages of syntax errors are built here (errorMessageProvider) in one
// fixed shape, "expected X, found Y", naming tokens by their labels.
import type { IParserErrorMessageProvider, IToken, TokenType } from 'chevrotain';
import { CstParser, EOF, tokenMatcher } from './chevrotain.js';
import {
  allTokens,
  Arrow,
  At,
  Bidir,
  Cell,
  Colon,
  Comma,
  Dim,
  Equals,
  FloatLiteral,
  Greater,
  Identifier,
  Input,
  IntegerLiteral,
  keywordTokens,
  LBrace,
  LBracket,
  Less,
  LParen,
  Minus,
  Model,
  NumberLiteral,
  Option,
  Param,
  Plus,
  RBrace,
  RBracket,
  Reverse,
  RParen,
  Semicolon,
  Seq,
  Slash,
  Star,
  StringLiteral,
  Target,
  TokenKw,
  Train,
  With,
} from './tokens.js';

// ---------------------------------------------------------------- readable token names

const keywordSet: ReadonlySet<TokenType> = new Set(keywordTokens);

/** How a token found in the input is named in a message. */
export function describeFoundToken(token: IToken): string {
  const type = token.tokenType;
  if (type === EOF) return 'end of file';
  if (tokenMatcher(token, Identifier)) return `identifier \`${token.image}\``;
  if (keywordSet.has(type)) return `keyword '${token.image}'`;
  if (tokenMatcher(token, NumberLiteral)) return `number \`${token.image}\``;
  if (tokenMatcher(token, StringLiteral)) return `string ${token.image}`;
  return `'${token.image}'`;
}

/** How an expected token type is named: its label (`'('`, `identifier`). */
export function describeTokenType(type: TokenType): string {
  if (type === EOF) return 'end of file';
  return type.LABEL ?? type.name;
}

// The tokens that can start an expression; when all the main ones are
// expected, the message says "expression" instead of listing them.
const expressionStarters: readonly TokenType[] = [
  NumberLiteral,
  IntegerLiteral,
  FloatLiteral,
  StringLiteral,
  Identifier,
  LParen,
  Minus,
  Reverse,
  Bidir,
];

/** "A", "A or B", "A, B or C"; duplicates removed, order kept. */
export function describeExpected(types: readonly TokenType[]): string {
  const unique = [...new Set(types)];
  let names: string[];
  const has = (t: TokenType): boolean => unique.includes(t);
  if (has(Identifier) && has(NumberLiteral) && has(LParen)) {
    names = ['expression', ...unique.filter((t) => !expressionStarters.includes(t)).map(describeTokenType)];
  } else if (has(Identifier) && has(IntegerLiteral) && has(LParen)) {
    names = [
      'dimension (a name, an integer or a parenthesised size)',
      ...unique.filter((t) => t !== Identifier && t !== IntegerLiteral && t !== LParen).map(describeTokenType),
    ];
  } else {
    names = unique.map(describeTokenType);
  }
  names = [...new Set(names)];
  if (names.length <= 1) return names[0] ?? 'nothing';
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`;
}

const declarationStart = "a declaration ('dim', 'cell', 'model' or 'train')";

function firstTokens(paths: readonly (readonly TokenType[])[]): TokenType[] {
  const out: TokenType[] = [];
  for (const path of paths) {
    const first = path[0];
    if (first !== undefined) out.push(first);
  }
  return out;
}

/** Every syntax error message has the shape `expected X, found Y`. */
export const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    // The only EOF expectation is the end of the top-level item loop: there,
    // what could have come is the start of another declaration.
    const what = expected === EOF && ruleName === 'program' ? declarationStart : describeExpected([expected]);
    return `expected ${what}, found ${describeFoundToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `expected ${declarationStart}, found ${describeFoundToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual }) {
    const expected = firstTokens(expectedPathsPerAlt.flat());
    return `expected ${describeExpected(expected)}, found ${describeFoundToken(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual }) {
    const expected = firstTokens(expectedIterationPaths);
    return `expected ${describeExpected(expected)}, found ${describeFoundToken(actual[0]!)}`;
  },
};

// ---------------------------------------------------------------- the grammar

export class RnnParser extends CstParser {
  constructor() {
    super([...allTokens], {
      recoveryEnabled: true,
      maxLookahead: 3,
      errorMessageProvider,
    });
    this.performSelfAnalysis();
  }

  // program := item*     (';' allowed anywhere between items)
  public program = this.RULE('program', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.dimDecl, { LABEL: 'items' }) },
        { ALT: () => this.SUBRULE(this.cellDecl, { LABEL: 'items' }) },
        { ALT: () => this.SUBRULE(this.modelDecl, { LABEL: 'items' }) },
        { ALT: () => this.SUBRULE(this.trainDecl, { LABEL: 'items' }) },
        { ALT: () => this.CONSUME(Semicolon) },
      ]);
    });
  });

  // ------------------------------------------------------------ dimensions

  // dimDecl := 'dim' dimItem (',' dimItem)*
  public dimDecl = this.RULE('dimDecl', () => {
    this.CONSUME(Dim);
    this.SUBRULE1(this.dimItem, { LABEL: 'dims' });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.dimItem, { LABEL: 'dims' });
    });
  });

  // dimItem := IDENT ('=' dimExpr)?
  public dimItem = this.RULE('dimItem', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.dimExpr, { LABEL: 'value' });
    });
  });

  // dimExpr := dimTerm (('+'|'-') dimTerm)*
  public dimExpr = this.RULE('dimExpr', () => {
    this.SUBRULE1(this.dimTerm, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Plus, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(Minus, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.dimTerm, { LABEL: 'operands' });
    });
  });

  // dimTerm := dimAtom ('*' dimAtom)*
  public dimTerm = this.RULE('dimTerm', () => {
    this.SUBRULE1(this.dimAtom, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(Star, { LABEL: 'ops' });
      this.SUBRULE2(this.dimAtom, { LABEL: 'operands' });
    });
  });

  // dimAtom := INT | IDENT | '(' dimExpr ')'
  public dimAtom = this.RULE('dimAtom', () => {
    this.OR([
      { ALT: () => this.CONSUME(IntegerLiteral, { LABEL: 'number' }) },
      { ALT: () => this.CONSUME(Identifier, { LABEL: 'name' }) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.dimExpr, { LABEL: 'inner' });
          this.CONSUME(RParen);
        },
      },
    ]);
  });

  // shape := '[' (dimExpr (',' dimExpr)*)? ']'
  public shape = this.RULE('shape', () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE1(this.dimExpr, { LABEL: 'dims' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.dimExpr, { LABEL: 'dims' });
      });
    });
    this.CONSUME(RBracket);
  });

  // ------------------------------------------------------------ cells

  // cellDecl := 'cell' IDENT '(' (typedName (',' typedName)*)? ')'
  //             '->' typedName (',' typedName)* '{' cellItem* '}'
  public cellDecl = this.RULE('cellDecl', () => {
    this.CONSUME(Cell);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE1(this.typedName, { LABEL: 'inputs' });
      this.MANY1(() => {
        this.CONSUME1(Comma);
        this.SUBRULE2(this.typedName, { LABEL: 'inputs' });
      });
    });
    this.CONSUME(RParen);
    this.CONSUME(Arrow);
    this.SUBRULE3(this.typedName, { LABEL: 'outputs' });
    this.MANY2(() => {
      this.CONSUME2(Comma);
      this.SUBRULE4(this.typedName, { LABEL: 'outputs' });
    });
    this.CONSUME(LBrace);
    this.MANY3(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.paramDecl, { LABEL: 'body' }) },
        { ALT: () => this.SUBRULE(this.optionDecl, { LABEL: 'body' }) },
        { ALT: () => this.SUBRULE(this.equation, { LABEL: 'body' }) },
        { ALT: () => this.SUBRULE(this.dimDecl, { LABEL: 'body' }) },
        { ALT: () => this.CONSUME(Semicolon) },
      ]);
    });
    this.CONSUME(RBrace);
  });

  // typedName := IDENT ':' elemType   (a shape, or token[K] for a decoder's output)
  public typedName = this.RULE('typedName', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Colon);
    this.SUBRULE(this.elemType, { LABEL: 'type' });
  });

  // paramDecl := 'param' IDENT (',' IDENT)* ':' shape ('=' initCall)?
  public paramDecl = this.RULE('paramDecl', () => {
    this.CONSUME(Param);
    this.CONSUME1(Identifier, { LABEL: 'names' });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.CONSUME2(Identifier, { LABEL: 'names' });
    });
    this.CONSUME(Colon);
    this.SUBRULE(this.shape, { LABEL: 'shape' });
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.initCall, { LABEL: 'init' });
    });
  });

  // initCall := IDENT ('(' args? ')')?
  public initCall = this.RULE('initCall', () => {
    this.CONSUME(Identifier, { LABEL: 'callee' });
    this.OPTION1(() => {
      this.CONSUME(LParen);
      this.OPTION2(() => this.SUBRULE(this.args, { LABEL: 'args' }));
      this.CONSUME(RParen);
    });
  });

  // optionDecl := 'option' IDENT '=' expr
  public optionDecl = this.RULE('optionDecl', () => {
    this.CONSUME(Option);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Equals);
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // equation := IDENT timeIndex? '=' expr ('with' binding (',' binding)*)?
  public equation = this.RULE('equation', () => {
    this.CONSUME(Identifier, { LABEL: 'target' });
    this.OPTION1(() => this.SUBRULE(this.timeIndex, { LABEL: 'index' }));
    this.CONSUME(Equals);
    this.SUBRULE(this.expr, { LABEL: 'value' });
    this.OPTION2(() => {
      this.CONSUME(With);
      this.SUBRULE1(this.binding, { LABEL: 'bindings' });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.binding, { LABEL: 'bindings' });
      });
    });
  });

  // binding := IDENT ('=' expr)?
  public binding = this.RULE('binding', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(Equals);
      this.SUBRULE(this.expr, { LABEL: 'value' });
    });
  });

  // timeIndex := '[' ( IDENT (('+'|'-') INT)? | INT ) ']'     ([0]: a state's initial value)
  public timeIndex = this.RULE('timeIndex', () => {
    this.CONSUME(LBracket);
    this.OR1([
      {
        ALT: () => {
          this.CONSUME(Identifier, { LABEL: 'variable' });
          this.OPTION(() => {
            this.OR2([
              { ALT: () => this.CONSUME(Plus, { LABEL: 'sign' }) },
              { ALT: () => this.CONSUME(Minus, { LABEL: 'sign' }) },
            ]);
            this.CONSUME1(IntegerLiteral, { LABEL: 'offset' });
          });
        },
      },
      { ALT: () => this.CONSUME2(IntegerLiteral, { LABEL: 'step' }) },
    ]);
    this.CONSUME(RBracket);
  });

  // ------------------------------------------------------------ models

  // modelDecl := 'model' IDENT '{' modelItem* '}'
  public modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(Model);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(LBrace);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.dimDecl, { LABEL: 'items' }) },
        { ALT: () => this.SUBRULE(this.ioDecl, { LABEL: 'items' }) },
        { ALT: () => this.SUBRULE(this.equation, { LABEL: 'items' }) },
        { ALT: () => this.CONSUME(Semicolon) },
      ]);
    });
    this.CONSUME(RBrace);
  });

  // ioDecl := ('input'|'target') IDENT ':' valueType
  public ioDecl = this.RULE('ioDecl', () => {
    this.OR([
      { ALT: () => this.CONSUME(Input, { LABEL: 'role' }) },
      { ALT: () => this.CONSUME(Target, { LABEL: 'role' }) },
    ]);
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(Colon);
    this.SUBRULE(this.valueType, { LABEL: 'type' });
  });

  // valueType := 'seq' '<' elemType '>' | elemType
  public valueType = this.RULE('valueType', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(Seq);
          this.CONSUME(Less);
          this.SUBRULE1(this.elemType, { LABEL: 'elem' });
          this.CONSUME(Greater);
        },
      },
      { ALT: () => this.SUBRULE2(this.elemType, { LABEL: 'elem' }) },
    ]);
  });

  // elemType := 'token' '[' dimExpr ']' | shape
  public elemType = this.RULE('elemType', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(TokenKw);
          this.CONSUME(LBracket);
          this.SUBRULE(this.dimExpr, { LABEL: 'vocab' });
          this.CONSUME(RBracket);
        },
      },
      { ALT: () => this.SUBRULE(this.shape, { LABEL: 'shape' }) },
    ]);
  });

  // ------------------------------------------------------------ training

  // trainDecl := 'train' IDENT '{' trainSetting* '}'
  public trainDecl = this.RULE('trainDecl', () => {
    this.CONSUME(Train);
    this.CONSUME(Identifier, { LABEL: 'model' });
    this.CONSUME(LBrace);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.trainSetting, { LABEL: 'settings' }) },
        { ALT: () => this.CONSUME(Semicolon) },
      ]);
    });
    this.CONSUME(RBrace);
  });

  // trainSetting := IDENT (IDENT)? expr
  //
  // Newlines are not tokens, so `bptt full` + `batch 32` on the next line
  // could read as key `bptt`, mode `full`, value `batch`. The mode form is
  // therefore taken only when the token after the second identifier is a
  // number, a string or '-' (`clip norm 5.0`); otherwise the second
  // identifier starts the value (`bptt full`, `bptt truncated(...)`).
  public trainSetting = this.RULE('trainSetting', () => {
    this.CONSUME1(Identifier, { LABEL: 'key' });
    this.OPTION({
      GATE: () => {
        const next = this.LA(2);
        return (
          tokenMatcher(this.LA(1), Identifier) &&
          (tokenMatcher(next, NumberLiteral) || tokenMatcher(next, StringLiteral) || tokenMatcher(next, Minus))
        );
      },
      DEF: () => this.CONSUME2(Identifier, { LABEL: 'mode' }),
    });
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });

  // ------------------------------------------------------------ expressions

  // expr := addExpr
  public expr = this.RULE('expr', () => {
    this.SUBRULE(this.addExpr, { LABEL: 'inner' });
  });

  // addExpr := mulExpr (('+'|'-') mulExpr)*
  public addExpr = this.RULE('addExpr', () => {
    this.SUBRULE1(this.mulExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Plus, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(Minus, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.mulExpr, { LABEL: 'operands' });
    });
  });

  // mulExpr := mmExpr (('*'|'/') mmExpr)*
  public mulExpr = this.RULE('mulExpr', () => {
    this.SUBRULE1(this.mmExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Star, { LABEL: 'ops' }) },
        { ALT: () => this.CONSUME(Slash, { LABEL: 'ops' }) },
      ]);
      this.SUBRULE2(this.mmExpr, { LABEL: 'operands' });
    });
  });

  // mmExpr := unary ('@' unary)*
  public mmExpr = this.RULE('mmExpr', () => {
    this.SUBRULE1(this.unary, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(At, { LABEL: 'ops' });
      this.SUBRULE2(this.unary, { LABEL: 'operands' });
    });
  });

  // unary := '-' unary | 'reverse' unary | 'bidir' unary | primary
  public unary = this.RULE('unary', () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([
            { ALT: () => this.CONSUME(Minus, { LABEL: 'op' }) },
            { ALT: () => this.CONSUME(Reverse, { LABEL: 'op' }) },
            { ALT: () => this.CONSUME(Bidir, { LABEL: 'op' }) },
          ]);
          this.SUBRULE(this.unary, { LABEL: 'operand' });
        },
      },
      { ALT: () => this.SUBRULE(this.primary, { LABEL: 'primary' }) },
    ]);
  });

  // primary := NUMBER | STRING | call | nameRef | '(' expr ')'
  public primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'number' }) },
      { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'string' }) },
      { ALT: () => this.SUBRULE(this.call, { LABEL: 'call' }) },
      { ALT: () => this.SUBRULE(this.nameRef, { LABEL: 'nameRef' }) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE(this.expr, { LABEL: 'inner' });
          this.CONSUME(RParen);
        },
      },
    ]);
  });

  // call := IDENT '(' args? ')'
  public call = this.RULE('call', () => {
    this.CONSUME(Identifier, { LABEL: 'callee' });
    this.CONSUME(LParen);
    this.OPTION(() => this.SUBRULE(this.args, { LABEL: 'args' }));
    this.CONSUME(RParen);
  });

  // nameRef := IDENT timeIndex?
  public nameRef = this.RULE('nameRef', () => {
    this.CONSUME(Identifier, { LABEL: 'name' });
    this.OPTION(() => this.SUBRULE(this.timeIndex, { LABEL: 'index' }));
  });

  // args := arg (',' arg)*
  public args = this.RULE('args', () => {
    this.SUBRULE1(this.arg, { LABEL: 'items' });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.arg, { LABEL: 'items' });
    });
  });

  // arg := (IDENT '=')? expr
  public arg = this.RULE('arg', () => {
    this.OPTION(() => {
      this.CONSUME(Identifier, { LABEL: 'name' });
      this.CONSUME(Equals);
    });
    this.SUBRULE(this.expr, { LABEL: 'value' });
  });
}

/**
 * The one parser instance. Chevrotain parsers are built once (the grammar
 * analysis is costly) and reused by assigning `input`, which resets state.
 */
export const rnnParser = new RnnParser();
